"""Every answer carries the security headers: from every route (generated from the route table),
signed in and anonymous, success and error, and the gateway's own 404, 405 and 413."""

from __future__ import annotations

from collections.abc import Iterable

import httpx
import pytest

from plutomi.entrypoints.headers import HSTS, JSON_POLICY
from plutomi.runtime.gateway import MAX_BODY_BYTES
from plutomi.topology import API_ROUTES, Route
from tests.conftest import unique_email, unique_org_id
from tests.e2e.test_tenant_isolation import PATH_PARAM, body_for, build_pipeline, fill_path, user_id
from tests.support.csp import directives
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack

CACHEABLE = {"/docs/{asset}"}  # Swagger UI's files, public and versioned by their names


def problems(response: httpx.Response, *, https: bool = False, cacheable: bool = False) -> list[str]:
    headers = response.headers
    found = []
    expected = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
    if not cacheable:
        expected["cache-control"] = "no-store"
    found += [f"{n}: {headers.get(n)!r}" for n, value in expected.items() if headers.get(n) != value]
    policy = headers.get("content-security-policy", "")
    rules = directives(policy)
    if rules.get("frame-ancestors") != ["'none'"]:
        found.append(f"content-security-policy without frame-ancestors 'none': {policy!r}")
    if any(unsafe in policy for unsafe in ("unsafe-inline", "unsafe-eval", "*")):
        found.append(f"content-security-policy allows too much: {policy!r}")
    if not headers.get("content-type", "").startswith("text/html") and policy != JSON_POLICY:
        found.append(f"a non-HTML answer with {policy!r}")
    if (headers.get("strict-transport-security") == HSTS) != https:
        found.append(f"strict-transport-security: {headers.get('strict-transport-security')!r}")
    return found


def check_all(responses: Iterable[tuple[str, httpx.Response]], **expect: bool) -> list[str]:
    return [
        f"{what} -> {response.status_code}: {problem}"
        for what, response in responses
        for problem in problems(response, cacheable=what.split()[-1] in CACHEABLE, **expect)
    ]


def call(api: Api, route: Route, ids: dict[str, str]) -> tuple[str, httpx.Response]:
    response = api.request(route.method, fill_path(route, ids), json=body_for(route))
    return f"{route.method} {route.path}", response


@pytest.fixture(scope="module")
def ids(stack: RunningStack) -> tuple[Api, dict[str, str]]:
    owner = sign_in(stack.base_url, unique_email("helmet"))
    org = unique_org_id("headers")
    assert owner.post("/orgs", json={"id": org, "display_name": "Headers"}).status_code == 201
    invite = owner.post(f"/orgs/{org}/invites", json={"email": unique_email("invitee")})
    assert invite.status_code == 201, invite.text
    found = {"org_id": org, "user_id": user_id(owner), "invite_id": invite.json()["id"]}
    return owner, {**found, **build_pipeline(owner, org, stack)}


def test_every_route_answers_with_the_security_headers(
    stack: RunningStack, ids: tuple[Api, dict[str, str]]
) -> None:
    owner, values = ids
    anonymous = Api(stack.base_url)
    seen = []
    # The org goes last, and the session after it.
    for route in sorted(API_ROUTES, key=lambda r: (r.path == "/auth/logout", r.method == "DELETE")):
        seen += [call(owner, route, values), call(anonymous, route, values)]
    statuses = {response.status_code for _, response in seen}
    assert {200, 201, 204, 401, 404} <= statuses, [(w, r.status_code) for w, r in seen]
    assert check_all(seen) == []


def test_swagger_uis_files_may_be_cached_and_nothing_else(stack: RunningStack) -> None:
    page = httpx.get(f"{stack.base_url}/docs", timeout=20)
    assert problems(page) == []
    asset = next(part.split('"')[0] for part in page.text.split('src="')[1:])
    cached = httpx.get(f"{stack.base_url}/{asset}", timeout=20)
    assert cached.status_code == 200 and problems(cached, cacheable=True) == []
    assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert {route.path for route in API_ROUTES if PATH_PARAM.search(route.path)} >= CACHEABLE


def test_the_gateways_own_answers_carry_them_too(stack: RunningStack) -> None:
    anonymous = Api(stack.base_url)
    own = [
        ("unknown path", anonymous.get("/no/such/route")),
        ("wrong method", anonymous.request("PUT", "/health")),
        (
            "body too large",
            anonymous.post(
                "/auth/totp",
                content=b" " * (MAX_BODY_BYTES + 1),
                headers={"content-type": "application/json"},
            ),
        ),
    ]
    assert [response.status_code for _, response in own] == [404, 405, 413]
    assert check_all(own) == []


def test_over_https_every_answer_adds_strict_transport_security(stack: RunningStack) -> None:
    """Behind a TLS proxy of ours (the test stack trusts X-Forwarded-For, so its proxy's scheme too), as on
    API Gateway."""
    https = Api(stack.base_url)
    forwarded = {"x-forwarded-proto": "https"}
    seen = [
        ("health", https.get("/health", headers=forwarded)),
        ("me", https.get("/users/me", headers=forwarded)),
        ("docs", https.get("/docs", headers=forwarded)),
        ("unknown path", https.get("/no/such/route", headers=forwarded)),
        ("wrong method", https.request("PUT", "/health", headers=forwarded)),
    ]
    assert check_all(seen, https=True) == []
    assert "strict-transport-security" not in https.get("/health").headers  # plain HTTP: never
