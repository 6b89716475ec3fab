"""Every page, over HTTP as a browser sends it: tenant isolation, the same-origin rule for every POST,
the headers, and no 500 for an empty or hostile form.

The route list comes from `plutomi.topology.PAGE_ROUTES`, so a new page is covered without a new
test; a page path parameter with no real id here fails loudly (add one to `page_ids`)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from plutomi.topology import PAGE_ROUTES, Route
from plutomi.web import assets
from tests.conftest import unique_email, unique_org_id
from tests.e2e.test_tenant_isolation import TwoOrgs, build_pipeline, fill_path, make_world, snapshot
from tests.support.csp import directives
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack

ORG_PAGES = [route for route in PAGE_ROUTES if route.path.startswith("/app/{org_id}")]
POST_PAGES = [route for route in PAGE_ROUTES if route.method == "POST"]
SAME_ORIGIN = {"sec-fetch-site": "same-origin"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>{{7*7}}\u202e\x00"


def page_request(
    api: Api, route: Route, ids: dict[str, str], form: dict[str, str] | None = None
) -> httpx.Response:
    """The request a browser on one of our pages makes: same-origin, a form body on POST, no redirects
    followed (a redirect to sign-in is an answer too)."""
    headers = {**SAME_ORIGIN, "accept": "text/html"}
    if route.method == "POST":
        return api.request(
            "POST",
            fill_path(route, ids),
            content=urlencode(form or {}).encode(),
            headers={**headers, **FORM},
            follow_redirects=False,
        )
    return api.request(route.method, fill_path(route, ids), headers=headers, follow_redirects=False)


@pytest.fixture(scope="module")
def world(stack: RunningStack) -> TwoOrgs:
    return make_world(stack)


def page_ids(world: TwoOrgs) -> dict[str, str]:
    """Real ids of org A for every page path parameter."""
    return {**world.ids_a, "asset": assets.files()["app.css"].url_name}


def test_the_route_table_has_org_pages() -> None:
    assert len(ORG_PAGES) >= 5, [route.route_key for route in ORG_PAGES]
    # Pages that name an org are the recruiter's (/app/...) or the public careers pages.
    assert all(
        r.path.startswith(("/app/{org_id}", "/careers/{org_id}")) for r in PAGE_ROUTES if "{org_id}" in r.path
    )


def test_no_page_of_an_org_lets_an_outsider_in(world: TwoOrgs) -> None:
    before = snapshot(world)
    ids = page_ids(world)
    nowhere = unique_org_id("never-created")
    leaks = []
    for route in ORG_PAGES:
        response = page_request(world.mallory, route, ids, {"name": "Mallory was here"})
        if response.status_code != 404 or "org_not_found" not in response.text:
            leaks.append(f"{route.route_key}: {response.status_code} {response.text[:300]}")
            continue
        missing = page_request(world.mallory, route, {**ids, "org_id": nowhere}, {"name": "x"})
        if missing.text.replace(nowhere, "ORG") != response.text.replace(world.org_a, "ORG"):
            leaks.append(f"{route.route_key}: org A's page differs from a missing org's")
    assert leaks == [], "an outsider got more than a 404 page from org A:\n" + "\n".join(leaks)
    assert snapshot(world) == before


def test_pages_under_your_own_org_do_not_reach_another_orgs_ids(world: TwoOrgs) -> None:
    """Under org B, org A's ids answer exactly as ids that exist nowhere (and never with success)."""
    before = snapshot(world)
    real = {**page_ids(world), "org_id": world.org_b}
    made_up = {
        name: value if name in {"org_id", "asset"} else f"{value[:-4]}ZZZZ" for name, value in real.items()
    }
    mixed = [route for route in ORG_PAGES if route.path.count("{") > 1]
    leaks = []
    for route in mixed:
        answer = page_request(world.mallory, route, real, {"name": "Mallory was here"})
        nowhere = page_request(world.mallory, route, made_up, {"name": "Mallory was here"})
        anonymous = [answer.text, nowhere.text]
        for name in real:
            anonymous = [anonymous[0].replace(real[name], "ID"), anonymous[1].replace(made_up[name], "ID")]
        if answer.status_code < 400 or (answer.status_code, anonymous[0]) != (
            nowhere.status_code,
            anonymous[1],
        ):
            leaks.append(
                f"{route.route_key}: {answer.status_code} vs {nowhere.status_code} {answer.text[:300]}"
            )
    assert leaks == [], "org A's data answered under org B:\n" + "\n".join(leaks)
    assert snapshot(world) == before


def test_a_post_from_another_site_is_refused_signed_in_or_not(world: TwoOrgs) -> None:
    before = snapshot(world)
    ids = page_ids(world)
    for route in POST_PAGES:
        for api in (world.alice, Api(world.alice.base_url)):
            for foreign in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}, {}):
                response = api.request(
                    "POST",
                    fill_path(route, ids),
                    content=b"name=x&email=victim%40example.com",
                    headers={**FORM, **foreign},
                    follow_redirects=False,
                )
                assert response.status_code == 403, f"{route.route_key} {foreign}: {response.status_code}"
                assert "cross_site_request" in response.text
    assert snapshot(world) == before


@pytest.fixture(scope="module")
def owner(stack: RunningStack) -> Iterator[tuple[Api, dict[str, str]]]:
    """An org of its own for the tests that send forms which may change things."""
    api = sign_in(stack.base_url, unique_email("pages"))
    org = unique_org_id("pages")
    assert api.post("/orgs", json={"id": org, "display_name": "Pages"}).status_code == 201
    ids = {"org_id": org, **build_pipeline(api, org, stack), "asset": assets.files()["app.css"].url_name}
    ids["user_id"] = api.get("/users/me").json()["id"]
    invite = api.post(f"/orgs/{org}/invites", json={"email": unique_email("invitee"), "role": "member"})
    assert invite.status_code == 201, invite.text
    ids["invite_id"] = invite.json()["id"]
    yield api, ids


def test_every_page_answers_html_under_the_strict_policy(owner: tuple[Api, dict[str, str]]) -> None:
    api, ids = owner
    for route in PAGE_ROUTES:
        if route.method != "GET":
            continue
        response = page_request(api, route, ids)
        assert response.status_code < 500, f"{route.route_key}: {response.status_code} {response.text[:300]}"
        assert response.headers["referrer-policy"] == "no-referrer", route.route_key
        if route.function == "web.static":
            continue
        assert response.headers["content-type"].startswith("text/html"), route.route_key
        assert response.headers["cache-control"] == "no-store", route.route_key
        policy = directives(response.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"], route.route_key
        assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("form", [{}, {"name": HOSTILE, "email": HOSTILE, "label": HOSTILE, "id": HOSTILE}])
def test_no_page_form_answers_500_to_empty_or_hostile_input(
    owner: tuple[Api, dict[str, str]], form: dict[str, str]
) -> None:
    api, ids = owner
    failures = []
    for route in POST_PAGES:
        if route.path == "/sign-out":
            continue  # it would end the session the other routes use
        response = page_request(api, route, ids, form)
        if response.status_code >= 500 or "<script>alert(1)" in response.text:
            failures.append(f"{route.route_key}: {response.status_code} {response.text[:300]}")
    assert failures == []
