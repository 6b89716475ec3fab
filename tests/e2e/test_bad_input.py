"""Bad input over HTTP: every route answers a clear 4xx with a stable error code, never a 5xx.

Checks that apply to every route are generated from the route table, with the valid bodies of
`test_tenant_isolation.VALID_BODIES` as the starting point for the broken ones.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from plutomi.runtime.gateway import MAX_BODY_BYTES
from plutomi.services.ports import Dependencies
from plutomi.topology import API_ROUTES, Route
from tests.conftest import unique_email, unique_org_id
from tests.e2e.test_tenant_isolation import (
    PATH_PARAM,
    VALID_BODIES,
    body_for,
    build_pipeline,
    fill_path,
    is_public,
    user_id,
)
from tests.support.http import Api, sign_in
from tests.support.observed import error_code, undocumented
from tests.support.stack import RunningStack

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
JSON = {"content-type": "application/json"}


@dataclass
class Owner:
    api: Api
    user_id: str
    org: str
    invite_id: str  # pending, to `invitee_email`
    invitee_email: str
    pipeline: dict[str, str]

    @property
    def ids(self) -> dict[str, str]:
        return {"org_id": self.org, "user_id": self.user_id, "invite_id": self.invite_id, **self.pipeline}


@pytest.fixture(scope="module")
def owner(stack: RunningStack) -> Owner:
    api = sign_in(stack.base_url, unique_email("bea"))
    org = unique_org_id("bad-input")
    assert api.post("/orgs", json={"id": org, "display_name": "Bad Input"}).status_code == 201
    invitee = unique_email("ivan")
    invite = api.post(f"/orgs/{org}/invites", json={"email": invitee})
    assert invite.status_code == 201, invite.text
    return Owner(api, user_id(api), org, invite.json()["id"], invitee, build_pipeline(api, org, stack))


@pytest.fixture(scope="module")
def openapi(stack: RunningStack) -> dict[str, Any]:
    response = httpx.get(f"{stack.base_url}/openapi.json", timeout=20)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


# Routes missing from VALID_BODIES fail test_tenant_isolation.py and every generated test below.
BODY_ROUTES = [route for route in API_ROUTES if VALID_BODIES.get((route.method, route.path)) is not None]
PARAM_ROUTES = [route for route in API_ROUTES if PATH_PARAM.search(route.path)]


def label(route: Route) -> str:
    return f"{route.method} {route.path}"


def assert_error(response: httpx.Response, status: int, code: str, what: str = "") -> dict[str, Any]:
    where = f"{what}: " if what else ""
    assert response.status_code == status, f"{where}{response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), where
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, f"{where}{response.text[:300]}"
    assert isinstance(error["message"], str) and error["message"], where
    return error


def fields_named(response: httpx.Response) -> set[str]:
    return {detail["field"] for detail in response.json()["error"].get("details", [])}


def body_schema(openapi: dict[str, Any], route: Route) -> dict[str, Any]:
    operation = openapi["paths"][route.path][route.method.lower()]
    reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema: dict[str, Any] = openapi["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    return schema


def accepts_object(openapi: dict[str, Any], field: dict[str, Any]) -> bool:
    """Whether a property's schema admits a JSON object (directly, by reference or in a union)."""
    if "$ref" in field:
        return accepts_object(openapi, openapi["components"]["schemas"][field["$ref"].rsplit("/", 1)[-1]])
    if field.get("type") == "object" or "properties" in field:
        return True
    options = field.get("anyOf", []) + field.get("oneOf", []) + field.get("allOf", [])
    return any(accepts_object(openapi, option) for option in options)


# ------------------------------------------------------------------ broken bodies, on every body route


def test_there_are_body_routes_and_param_routes() -> None:
    assert len(BODY_ROUTES) >= 7 and len(PARAM_ROUTES) >= 8


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"a string"', "application/json"),
        (b"\xff\xfe{}", "application/json"),  # not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # nested far too deep
        (b"{not json", "application/json; charset=utf-8"),
    ],
    ids=["not-json", "empty", "array", "string", "not-utf8", "deep", "charset"],
)
def test_a_body_that_is_not_a_json_object_is_422(owner: Owner, content: bytes, content_type: str) -> None:
    for route in BODY_ROUTES:
        response = owner.api.request(
            route.method, fill_path(route, owner.ids), content=content, headers={"content-type": content_type}
        )
        assert_error(response, 422, "validation_failed", label(route))
        assert fields_named(response) == {"body"}, f"{label(route)}: {response.text[:300]}"


NOT_JSON = (
    "text/plain",
    "application/octet-stream",
    "application/xml",
    "application/x-www-form-urlencoded",  # what an HTML form on any site can post
    "multipart/form-data; boundary=plutomi",
    "multipart/form-data",
    "application/json-seq",
)


def test_a_body_that_is_not_sent_as_json_is_415(owner: Owner) -> None:
    """Powertools would parse form and multipart bodies into the same models: refused, whatever
    the body holds, so a form on another site can never post to a JSON route."""
    for route in BODY_ROUTES:
        valid = json.dumps(body_for(route)).encode()
        form = urlencode({key: str(value) for key, value in (body_for(route) or {}).items()}).encode()
        for content_type in NOT_JSON:
            for content in (valid, form, b'{"a": 1}'):
                response = owner.api.request(
                    route.method,
                    fill_path(route, owner.ids),
                    content=content,
                    headers={"content-type": content_type},
                )
                assert_error(response, 415, "unsupported_media_type", f"{label(route)} as {content_type}")
        untyped = owner.api.request(route.method, fill_path(route, owner.ids), content=valid)
        assert_error(untyped, 415, "unsupported_media_type", f"{label(route)} without a content type")


def test_missing_extra_and_mistyped_fields_are_named(owner: Owner, openapi: dict[str, Any]) -> None:
    for route in BODY_ROUTES:
        valid = body_for(route)
        assert valid is not None
        path = fill_path(route, owner.ids)
        schema = body_schema(openapi, route)
        assert set(valid) <= set(schema["properties"]), f"{label(route)}: table body has unknown fields"

        extra = owner.api.request(route.method, path, json={**valid, "is_admin": True})
        assert_error(extra, 422, "validation_failed", f"{label(route)} extra field")
        assert fields_named(extra) == {"is_admin"}, f"{label(route)}: {extra.text[:300]}"

        for name in schema.get("required", []):
            missing = owner.api.request(
                route.method, path, json={k: v for k, v in valid.items() if k != name}
            )
            assert_error(missing, 422, "validation_failed", f"{label(route)} without {name}")
            assert fields_named(missing) == {name}, f"{label(route)} without {name}: {missing.text[:300]}"

        for name, field in schema["properties"].items():
            # An operator object where a value belongs is a type error, never a query; where an
            # object belongs, a string is.
            wrong: object = "not-an-object" if accepts_object(openapi, field) else {"$ne": None}
            mistyped = owner.api.request(route.method, path, json={**valid, name: wrong})
            assert_error(mistyped, 422, "validation_failed", f"{label(route)} with {name}={wrong!r}")
            assert fields_named(mistyped) == {name}, f"{label(route)} {name}: {mistyped.text[:300]}"


# ------------------------------------------------------------------ rules on values


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@b", "two@@example.com", "a b@example.com", "a@-example.com", "@example.com"]
)
def test_bad_email_is_400_invalid_email(owner: Owner, stack: RunningStack, email: str) -> None:
    anonymous = Api(stack.base_url)
    assert_error(anonymous.post("/auth/totp", json={"email": email}), 400, "invalid_email", email)
    assert_error(
        anonymous.post("/auth/totp/verify", json={"email": email, "code": "ABCDEF"}), 400, "invalid_email"
    )
    assert_error(
        owner.api.post(f"/orgs/{owner.org}/invites", json={"email": email}), 400, "invalid_email", email
    )


@pytest.mark.parametrize(
    ("org_id", "status", "code"),
    [
        ("AB", 422, "validation_failed"),
        ("ab", 422, "validation_failed"),
        ("a" * 41, 422, "validation_failed"),
        ("-abc", 400, "invalid_org_id"),
        ("abc-", 400, "invalid_org_id"),
        ("ab--cd", 400, "invalid_org_id"),
        ("Acme", 400, "invalid_org_id"),
        ("acme corp", 400, "invalid_org_id"),
        ("acme_corp", 400, "invalid_org_id"),
        ("admin", 400, "reserved_org_id"),
        ("orgs", 400, "reserved_org_id"),
    ],
)
def test_org_id_rules(owner: Owner, org_id: str, status: int, code: str) -> None:
    error = assert_error(
        owner.api.post("/orgs", json={"id": org_id, "display_name": "Bad"}), status, code, org_id
    )
    if status == 422:
        assert {d["field"] for d in error["details"]} == {"id"}
    assert owner.api.get(f"/orgs/{org_id}").status_code == 404


def test_org_id_length_limits_are_inclusive(owner: Owner) -> None:
    for org_id in (f"x{uuid.uuid4().hex[:2]}", "x" + uuid.uuid4().hex + "1234567"):
        assert len(org_id) in (3, 40)
        created = owner.api.post("/orgs", json={"id": org_id, "display_name": "Edge"})
        assert created.status_code == 201, f"{org_id}: {created.text}"
        assert owner.api.delete(f"/orgs/{org_id}").status_code == 204


@pytest.mark.parametrize("days", [0, -1, 366, 10_000, 1.5, "soon"])
def test_invite_expiry_out_of_range_is_422(owner: Owner, days: object) -> None:
    response = owner.api.post(
        f"/orgs/{owner.org}/invites", json={"email": unique_email("exp"), "expires_in_days": days}
    )
    error = assert_error(response, 422, "validation_failed", str(days))
    assert {d["field"] for d in error["details"]} == {"expires_in_days"}


def test_invite_expiry_limits_are_inclusive(owner: Owner) -> None:
    for days in (1, 365):
        created = owner.api.post(
            f"/orgs/{owner.org}/invites", json={"email": unique_email("edge"), "expires_in_days": days}
        )
        assert created.status_code == 201, created.text
        lasts = datetime.fromisoformat(created.json()["expires_at"]) - datetime.fromisoformat(
            created.json()["created_at"]
        )
        assert lasts == timedelta(days=days)


@pytest.mark.parametrize("role", ["superuser", "OWNER", "", None, 1])
def test_unknown_role_is_422(owner: Owner, role: object) -> None:
    invite = owner.api.post(f"/orgs/{owner.org}/invites", json={"email": unique_email("r"), "role": role})
    assert {d["field"] for d in assert_error(invite, 422, "validation_failed")["details"]} == {"role"}
    change = owner.api.patch(f"/orgs/{owner.org}/members/{owner.user_id}", json={"role": role})
    assert {d["field"] for d in assert_error(change, 422, "validation_failed")["details"]} == {"role"}
    assert owner.api.get(f"/orgs/{owner.org}").json()["role"] == "owner"


# ------------------------------------------------------------------ credentials, on every route


def test_no_credentials_is_401_and_never_5xx(stack: RunningStack, owner: Owner) -> None:
    anonymous = Api(stack.base_url)
    for route in API_ROUTES:
        response = anonymous.request(route.method, fill_path(route, owner.ids), json=body_for(route))
        assert response.status_code < 500, f"{label(route)}: {response.status_code} {response.text[:300]}"
        if is_public(route):
            if response.status_code >= 400:
                assert error_code(response), f"{label(route)}: {response.text[:300]}"
        else:
            assert_error(response, 401, "not_signed_in", label(route))


def test_no_credentials_and_no_body_is_never_5xx(stack: RunningStack, owner: Owner) -> None:
    anonymous = Api(stack.base_url)
    for route in API_ROUTES:
        response = anonymous.request(route.method, fill_path(route, owner.ids))
        assert response.status_code < 500, f"{label(route)}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            assert error_code(response), f"{label(route)}: {response.text[:300]}"
        if not is_public(route):
            assert error_code(response) in {"not_signed_in", "validation_failed"}, label(route)


def garbage_tokens(owner: Owner) -> Iterator[tuple[str, dict[str, str]]]:
    assert owner.api.token is not None
    session_id, _, secret = owner.api.token.partition(".")
    yield "garbage", {"authorization": "Bearer garbage"}
    yield "unknown session", {"authorization": f"Bearer ses_{uuid.uuid4().hex}.{secret}"}
    yield "wrong secret", {"authorization": f"Bearer {session_id}.{secret[::-1]}"}
    yield "no secret", {"authorization": f"Bearer {session_id}."}
    yield "operator", {"authorization": 'Bearer ses_{"$ne":null}.x'}
    same_origin = {"sec-fetch-site": "same-origin"}  # else an unsafe request is a 403 cross_site_request
    yield "cookie", {"cookie": "plutomi_session=garbage", **same_origin}
    yield "cookie wrong secret", {"cookie": f"plutomi_session={session_id}.x{secret}", **same_origin}


def test_a_bad_token_is_401_session_invalid_on_every_route(stack: RunningStack, owner: Owner) -> None:
    anonymous = Api(stack.base_url)
    private = [route for route in API_ROUTES if not is_public(route)]
    for name, headers in garbage_tokens(owner):
        for route in private:
            response = anonymous.request(
                route.method, fill_path(route, owner.ids), json=body_for(route), headers=headers
            )
            assert_error(response, 401, "session_invalid", f"{name}: {label(route)}")
    assert owner.api.get("/users/me").status_code == 200  # the real session still works


def test_a_signed_out_token_is_401_session_invalid(stack: RunningStack) -> None:
    api = sign_in(stack.base_url, unique_email("leaver"))
    assert api.post("/auth/logout").status_code == 204
    assert_error(api.get("/users/me"), 401, "session_invalid")
    assert_error(api.post("/auth/logout"), 401, "session_invalid")


def test_other_authorization_schemes_are_401_not_signed_in(stack: RunningStack) -> None:
    anonymous = Api(stack.base_url)
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Token abc"):
        assert_error(
            anonymous.get("/users/me", headers={"authorization": value}), 401, "not_signed_in", value
        )
    assert_error(anonymous.get("/users/me", headers={"cookie": "plutomi_session="}), 401, "not_signed_in")


# ------------------------------------------------------------------ routing


@pytest.mark.parametrize(
    "path", ["/apps", "/nope", "/orgs/", "/ORGS", "/users/me/extra", "/orgs/x/unknown", "/invites/x/maybe"]
)
def test_unknown_route_is_404_route_not_found(owner: Owner, path: str) -> None:
    assert_error(owner.api.get(path), 404, "route_not_found", path)
    assert_error(owner.api.post(path, json={}), 404, "route_not_found", path)


def allowed_methods(path: str) -> set[str]:
    """The methods the route table serves at a concrete path."""
    allowed = set()
    for route in API_ROUTES:
        pattern = re.sub(r"\\\{(\w+)\\\}", "[^/]+", re.escape(route.path))
        if re.fullmatch(pattern, path):
            allowed.add(route.method)
    return allowed


def test_wrong_method_is_405_with_allow_on_every_path(owner: Owner) -> None:
    checked = 0
    for path in sorted({fill_path(route, owner.ids) for route in API_ROUTES}):
        allowed = allowed_methods(path)
        for method in METHODS:
            if method in allowed:
                continue
            response = owner.api.request(method, path)
            assert_error(response, 405, "method_not_allowed", f"{method} {path}")
            served = {m.strip() for m in response.headers["allow"].split(",")}
            assert served == allowed, f"{method} {path}: Allow {response.headers['allow']}"
            checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    "value",
    [
        "x" * 1000,
        "%24ne",
        "%7B%22%24gt%22%3A%22%22%7D",
        "%00",
        "null",
        "%C3%A9t%C3%A9",
        "a%20b",
        "*",
        "ses_x",
    ],
)
def test_strange_path_parameters_are_404(owner: Owner, value: str) -> None:
    design = f"/orgs/{owner.org}/applications/{owner.pipeline['application_id']}"
    before = owner.api.get(design).json()
    for route in PARAM_ROUTES:
        for name in PATH_PARAM.findall(route.path):
            path = fill_path(route, {**owner.ids, name: value})
            response = owner.api.request(route.method, path, json=body_for(route))
            if (route.method, route.path) == ("GET", "/public/orgs/{org_id}/applications") and (
                response.status_code == 200
            ):
                # To the public, an unknown org is an org with no open applications.
                assert response.json() == {"applications": []}, path
                continue
            assert response.status_code == 404, (
                f"{route.method} {path}: {response.status_code} {response.text}"
            )
            assert error_code(response), f"{route.method} {path}: {response.text}"
    assert owner.api.get(f"/orgs/{owner.org}/invites").json()["invites"][0]["id"] == owner.invite_id
    assert owner.api.get(design).json() == before


# ------------------------------------------------------------------ size


def test_a_body_over_one_mebibyte_is_413(stack: RunningStack) -> None:
    anonymous = Api(stack.base_url)
    for route in API_ROUTES:
        response = anonymous.request(
            route.method, route.path, content=b" " * (MAX_BODY_BYTES + 1), headers=JSON
        )
        assert_error(response, 413, "body_too_large", label(route))


def test_a_streamed_body_over_one_mebibyte_is_413(stack: RunningStack) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = Api(stack.base_url).post("/auth/totp", content=chunks(), headers=JSON)
    assert_error(response, 413, "body_too_large")


def test_a_body_of_exactly_one_mebibyte_is_read(stack: RunningStack) -> None:
    prefix = b'{"email": "'
    content = prefix + b"a" * (MAX_BODY_BYTES - len(prefix) - 2) + b'"}'
    assert len(content) == MAX_BODY_BYTES
    response = Api(stack.base_url).post("/auth/totp", content=content, headers=JSON)
    assert_error(response, 422, "validation_failed")
    assert fields_named(response) == {"email"}


# ------------------------------------------------------------------ invites in the wrong state


def test_an_expired_invite_is_410(stack: RunningStack, owner: Owner, deps: Dependencies) -> None:
    email = unique_email("late")
    invite = owner.api.post(f"/orgs/{owner.org}/invites", json={"email": email, "role": "admin"})
    assert invite.status_code == 201, invite.text
    invite_id = invite.json()["id"]
    late = sign_in(stack.base_url, email)
    assert invite_id in [i["id"] for i in late.get("/invites").json()["invites"]]

    past = datetime.now(UTC) - timedelta(minutes=1)
    changed = deps.store.items.update_one(
        {"_id": {"$eq": invite_id}, "type": {"$eq": "invite"}}, {"$set": {"expires_at": past}}
    )
    assert changed.modified_count == 1

    assert_error(late.post(f"/invites/{invite_id}/accept"), 410, "invite_expired")
    assert_error(late.post(f"/invites/{invite_id}/decline"), 410, "invite_expired")
    assert invite_id not in [i["id"] for i in late.get("/invites").json()["invites"]]
    assert late.get(f"/orgs/{owner.org}").status_code == 404
    # The expired invite no longer blocks a fresh one to the same address.
    again = owner.api.post(f"/orgs/{owner.org}/invites", json={"email": email})
    assert again.status_code == 201, again.text
    assert late.post(f"/invites/{again.json()['id']}/accept").status_code == 200


def test_answering_or_canceling_a_finished_invite_is_409(stack: RunningStack, owner: Owner) -> None:
    email = unique_email("twice")
    invite_id = owner.api.post(f"/orgs/{owner.org}/invites", json={"email": email}).json()["id"]
    cancel = f"/orgs/{owner.org}/invites/{invite_id}"
    assert owner.api.delete(cancel).status_code == 204
    assert_error(owner.api.delete(cancel), 409, "invite_not_pending")
    invitee = sign_in(stack.base_url, email)
    assert_error(invitee.post(f"/invites/{invite_id}/accept"), 409, "invite_not_pending")
    assert_error(invitee.post(f"/invites/{invite_id}/decline"), 409, "invite_not_pending")
    assert_error(
        owner.api.delete(f"/orgs/{owner.org}/invites/inv_{uuid.uuid4().hex}"), 404, "invite_not_found"
    )

    declined_id = owner.api.post(f"/orgs/{owner.org}/invites", json={"email": email}).json()["id"]
    assert invitee.post(f"/invites/{declined_id}/decline").status_code == 204
    assert_error(invitee.post(f"/invites/{declined_id}/accept"), 409, "invite_not_pending")
    assert_error(owner.api.delete(f"/orgs/{owner.org}/invites/{declined_id}"), 409, "invite_not_pending")
    assert invitee.get(f"/orgs/{owner.org}").status_code == 404


# ------------------------------------------------------------------ query strings


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_a_bad_page_size_is_422(owner: Owner, limit: str) -> None:
    listing = f"/orgs/{owner.org}/applications/{owner.pipeline['application_id']}/applicants"
    response = owner.api.get(listing, params={"limit": limit})
    error = assert_error(response, 422, "validation_failed", limit)
    assert [d["field"].rsplit(".", 1)[-1] for d in error["details"]] == ["limit"]


def test_a_cursor_the_api_did_not_give_out_is_400(owner: Owner) -> None:
    listing = f"/orgs/{owner.org}/applications/{owner.pipeline['application_id']}/applicants"
    for cursor in ("garbage", "eyJ4IjogMX0", "%00", "x" * 2000):
        assert_error(owner.api.get(listing, params={"cursor": cursor}), 400, "invalid_cursor", cursor)


# ------------------------------------------------------------------ cross-site requests


def cookie_client(stack: RunningStack, owner: Owner) -> Api:
    """The owner's browser: the session cookie, no bearer token."""
    browser = Api(stack.base_url)
    browser.client.headers["cookie"] = f"plutomi_session={owner.api.token}"
    return browser


CROSS_SITE: tuple[dict[str, str], ...] = (
    {"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    {"origin": "https://evil.example"},  # a browser that sends no Sec-Fetch-Site
    {"sec-fetch-site": "same-site"},  # a sibling subdomain is another origin
    {"origin": "null"},  # a sandboxed frame or a data: URL
    {},  # neither: refused, every browser sends one on a POST
)


def test_unsafe_cookie_requests_from_another_site_are_403_on_every_route(
    stack: RunningStack, owner: Owner
) -> None:
    browser = cookie_client(stack, owner)
    invites_before = owner.api.get(f"/orgs/{owner.org}/invites").json()
    unsafe = [r for r in API_ROUTES if r.method in {"POST", "PUT", "PATCH", "DELETE"} and not is_public(r)]
    assert len(unsafe) >= 10
    for route in unsafe:
        for headers in CROSS_SITE:
            response = browser.request(
                route.method, fill_path(route, owner.ids), json=body_for(route), headers=headers
            )
            assert_error(response, 403, "cross_site_request", f"{label(route)} with {headers}")
    assert owner.api.get(f"/orgs/{owner.org}/invites").json() == invites_before, "nothing happened"


def test_cookie_requests_from_our_own_pages_and_bearer_requests_pass(
    stack: RunningStack, owner: Owner
) -> None:
    browser = cookie_client(stack, owner)
    own_origin = {"origin": stack.base_url}
    for headers in ({"sec-fetch-site": "same-origin", "origin": stack.base_url}, own_origin):
        renamed = browser.patch("/users/me", json={"first_name": "Bea"}, headers=headers)
        assert renamed.status_code == 200, renamed.text
    assert browser.get("/users/me").status_code == 200  # reading needs no origin
    invited = owner.api.post(
        f"/orgs/{owner.org}/invites",
        json={"email": unique_email("bearer")},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert invited.status_code == 201, "a bearer token is never sent by a browser on its own"


# ------------------------------------------------------------------ the API description (keep last)


def test_every_status_seen_above_is_documented_for_its_route(openapi: dict[str, Any]) -> None:
    """Every status (and error code) the tests above saw a route answer is in /openapi.json for it."""
    missing = undocumented(openapi)
    assert missing == [], "answers /openapi.json does not document:\n" + "\n".join(missing)
