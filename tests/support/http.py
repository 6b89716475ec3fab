"""A small HTTP client for the end-to-end tests: real requests to the gateway over loopback."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import unique_client
from tests.support.observed import record
from tests.support.stack import emails_to, wait_for_email


class Api:
    """One client: its own address (sent as the proxy header the test stack trusts) and, once signed
    in, its bearer token."""

    def __init__(self, base_url: str, token: str | None = None, client_address: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.client_address = client_address or unique_client()
        self.client = httpx.Client(base_url=base_url, timeout=20)

    def request(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("x-forwarded-for", self.client_address)
        if self.token:
            headers.setdefault("authorization", f"Bearer {self.token}")
        response = self.client.request(method, path, json=json, headers=headers, **kwargs)
        record(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


def code_from(text: str) -> str:
    found = re.search(r"login code is ([A-Z0-9]{6})", text)
    assert found, f"no code in {text!r}"
    return found.group(1)


def sign_in(base_url: str, email: str) -> Api:
    """Signs a person in the way a person does: ask for a code, read the email, verify it."""
    anonymous = Api(base_url)
    seen = len(emails_to(email, "login code"))
    assert anonymous.post("/auth/totp", json={"email": email}).status_code == 202
    code = code_from(wait_for_email(email, subject_contains="login code", after=seen).text)
    response = anonymous.post("/auth/totp/verify", json={"email": email, "code": code})
    assert response.status_code in (200, 201), response.text
    return Api(base_url, token=response.json()["token"], client_address=anonymous.client_address)
