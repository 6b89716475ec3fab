"""Tenant isolation and roles over HTTP, generated from the route table so a new route is covered.

Mallory owns another org. Every route under `/orgs/{org_id}` called by her with org A's id (and real
ids from org A for the other path parameters) must answer 404, exactly as for an org that does not
exist, and leave org A as it was. The `/public/...` routes are for applicants and need no sign-in;
they only ever show an org's open applications.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from plutomi.topology import ROUTES, Route
from tests.conftest import unique_email, unique_org_id
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack

Body = dict[str, Any]
STAGE = "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}"

# A syntactically valid body for every route in ROUTES (None: the route takes no body). Fresh values
# on every call, so a body may be sent many times. A route missing here fails the tests that use it.
VALID_BODIES: dict[tuple[str, str], Callable[[], Body] | None] = {
    ("POST", "/auth/totp"): lambda: {"email": unique_email("code")},
    ("POST", "/auth/totp/verify"): lambda: {"email": unique_email("verify"), "code": "ABCDEF"},
    ("POST", "/auth/logout"): None,
    ("GET", "/users/me"): None,
    ("PATCH", "/users/me"): lambda: {"first_name": "Mallory", "last_name": "Intruder"},
    ("POST", "/orgs"): lambda: {"id": unique_org_id("valid"), "display_name": "A valid org"},
    ("GET", "/orgs"): None,
    ("GET", "/orgs/{org_id}"): None,
    ("PATCH", "/orgs/{org_id}"): lambda: {"display_name": "Hijacked by mallory"},
    ("DELETE", "/orgs/{org_id}"): None,
    ("GET", "/orgs/{org_id}/members"): None,
    ("PATCH", "/orgs/{org_id}/members/{user_id}"): lambda: {"role": "member"},
    ("DELETE", "/orgs/{org_id}/members/{user_id}"): None,
    ("POST", "/orgs/{org_id}/invites"): lambda: {"email": unique_email("planted"), "role": "owner"},
    ("GET", "/orgs/{org_id}/invites"): None,
    ("DELETE", "/orgs/{org_id}/invites/{invite_id}"): None,
    ("GET", "/invites"): None,
    ("POST", "/invites/{invite_id}/accept"): None,
    ("POST", "/invites/{invite_id}/decline"): None,
    ("POST", "/orgs/{org_id}/applications"): lambda: {"name": "Planted", "description": "by mallory"},
    ("GET", "/orgs/{org_id}/applications"): None,
    ("GET", "/orgs/{org_id}/applications/{application_id}"): None,
    ("PATCH", "/orgs/{org_id}/applications/{application_id}"): lambda: {"name": "Hijacked", "status": "closed"},
    ("DELETE", "/orgs/{org_id}/applications/{application_id}"): None,
    ("POST", "/orgs/{org_id}/applications/{application_id}/stages"): lambda: {"name": "Planted", "position": 0},
    ("GET", "/orgs/{org_id}/applications/{application_id}/stages"): None,
    ("GET", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}"): None,
    ("PATCH", f"{STAGE}"): lambda: {"name": "Hijacked", "position": 1},
    ("DELETE", f"{STAGE}"): None,
    ("POST", f"{STAGE}/questions"): lambda: {"type": "text", "title": "Planted?", "position": 0},
    ("PATCH", f"{STAGE}/questions/{{question_id}}"): lambda: {"title": "Hijacked?", "required": False},
    ("DELETE", f"{STAGE}/questions/{{question_id}}"): None,
    ("POST", f"{STAGE}/rules"): lambda: {
        "rule": {"kind": "idle", "to_stage_id": "stg_somewhere", "after": {"amount": 1, "unit": "days"}},
    },
    ("PATCH", f"{STAGE}/rules/{{rule_id}}"): lambda: {
        "rule": {"kind": "idle", "to_stage_id": "stg_somewhere", "after": {"amount": 5, "unit": "minutes"}},
    },
    ("DELETE", f"{STAGE}/rules/{{rule_id}}"): None,
    ("GET", "/orgs/{org_id}/applications/{application_id}/applicants"): None,
    ("GET", "/orgs/{org_id}/applicants/{applicant_id}"): None,
    ("POST", "/orgs/{org_id}/applicants/{applicant_id}/move"): lambda: {
        "from_stage_id": "stg_one",
        "to_stage_id": "stg_two",
    },
    ("DELETE", "/orgs/{org_id}/applicants/{applicant_id}"): None,
    ("GET", "/public/orgs/{org_id}/applications"): None,
    ("GET", "/public/orgs/{org_id}/applications/{application_id}"): None,
    ("POST", "/public/orgs/{org_id}/applications/{application_id}/applicants"): lambda: {
        "email": unique_email("applicant"),
        "first_name": "Ann",
        "last_name": "Applicant",
    },
    ("GET", "/public/applicants/{token}"): None,
    ("POST", "/public/applicants/{token}/answers"): lambda: {"answers": {"qst_any": "an answer"}},
    ("GET", "/health"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/docs"): None,
}

PATH_PARAM = re.compile(r"\{(\w+)\}")


def body_for(route: Route) -> Body | None:
    key = (route.method, route.path)
    if key not in VALID_BODIES:
        pytest.fail(
            f"{route.method} {route.path} has no entry in VALID_BODIES ({__file__}): add a valid body "
            "for it (or None if it takes none) so the tenant isolation and bad input tests cover it"
        )
    factory = VALID_BODIES[key]
    return factory() if factory is not None else None


def fill_path(route: Route, values: dict[str, str]) -> str:
    missing = [name for name in PATH_PARAM.findall(route.path) if name not in values]
    if missing:
        pytest.fail(
            f"{route.method} {route.path}: no real id for {missing}; extend the fixture in {__file__} "
            "with an id of that kind from org A"
        )
    return PATH_PARAM.sub(lambda m: values[m.group(1)], route.path)


def call(api: Api, route: Route, values: dict[str, str], body: Body | None) -> httpx.Response:
    return api.request(route.method, fill_path(route, values), json=body)


def error_code(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code else None


def anonymised(response: httpx.Response, org_id: str) -> tuple[int, str | None, str]:
    """Status, code and message with the org id blanked, to compare answers about two orgs."""
    message = response.json()["error"]["message"] if error_code(response) else response.text
    return response.status_code, error_code(response), message.replace(org_id, "ORG")


def user_id(api: Api) -> str:
    me = api.get("/users/me")
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


@dataclass
class TwoOrgs:
    alice: Api
    alice_id: str
    mia: Api  # a plain member of org A
    mia_id: str
    mallory: Api
    mallory_id: str
    org_a: str
    org_b: str
    invite_id: str  # pending, from org A to carol
    carol_email: str


def snapshot(world: TwoOrgs) -> dict[str, Any]:
    """Org A as alice sees it: name, members and roles, pending invites."""
    org = world.alice.get(f"/orgs/{world.org_a}")
    members = world.alice.get(f"/orgs/{world.org_a}/members")
    invites = world.alice.get(f"/orgs/{world.org_a}/invites")
    assert org.status_code == members.status_code == invites.status_code == 200
    return {
        "display_name": org.json()["display_name"],
        "members": sorted((m["user_id"], m["role"]) for m in members.json()["members"]),
        "invites": sorted(
            (i["id"], i["email"], i["role"], i["status"], i["expires_at"]) for i in invites.json()["invites"]
        ),
    }


@pytest.fixture(scope="module")
def world(stack: RunningStack) -> TwoOrgs:
    alice = sign_in(stack.base_url, unique_email("alice"))
    mia_email, carol_email = unique_email("mia"), unique_email("carol")
    org_a, org_b = unique_org_id("alpha"), unique_org_id("bravo")
    assert alice.post("/orgs", json={"id": org_a, "display_name": "Alpha"}).status_code == 201

    joining = alice.post(f"/orgs/{org_a}/invites", json={"email": mia_email, "role": "member"})
    assert joining.status_code == 201, joining.text
    mia = sign_in(stack.base_url, mia_email)
    assert mia.post(f"/invites/{joining.json()['id']}/accept").status_code == 200

    pending = alice.post(f"/orgs/{org_a}/invites", json={"email": carol_email, "role": "admin"})
    assert pending.status_code == 201, pending.text

    mallory = sign_in(stack.base_url, unique_email("mallory"))
    assert mallory.post("/orgs", json={"id": org_b, "display_name": "Bravo"}).status_code == 201
    return TwoOrgs(
        alice=alice,
        alice_id=user_id(alice),
        mia=mia,
        mia_id=user_id(mia),
        mallory=mallory,
        mallory_id=user_id(mallory),
        org_a=org_a,
        org_b=org_b,
        invite_id=pending.json()["id"],
        carol_email=carol_email,
    )


ORG_ROUTES = [route for route in ROUTES if "{org_id}" in route.path]


def test_the_route_table_has_org_routes() -> None:
    assert len(ORG_ROUTES) >= 8, [f"{r.method} {r.path}" for r in ORG_ROUTES]


def test_no_org_route_lets_an_outsider_in(world: TwoOrgs) -> None:
    before = snapshot(world)
    ids = {"org_id": world.org_a, "user_id": world.alice_id, "invite_id": world.invite_id}
    nowhere = unique_org_id("never-created")
    leaks = []
    for route in ORG_ROUTES:
        body = body_for(route)
        response = call(world.mallory, route, ids, body)
        if response.status_code != 404 or error_code(response) is None:
            leaks.append(f"{route.method} {route.path}: {response.status_code} {response.text[:200]}")
            continue
        # The answer must not tell org A apart from an org that does not exist.
        missing = call(world.mallory, route, {**ids, "org_id": nowhere}, body)
        if anonymised(missing, nowhere) != anonymised(response, world.org_a):
            leaks.append(
                f"{route.method} {route.path}: org A answers {response.text[:200]} but a missing org "
                f"answers {missing.status_code} {missing.text[:200]}"
            )
    assert leaks == [], "an outsider got more than a 404 from org A:\n" + "\n".join(leaks)
    assert snapshot(world) == before
    assert snapshot(world)["display_name"] == "Alpha"
    assert (world.alice_id, "owner") in before["members"]
    assert [o["id"] for o in world.mallory.get("/orgs").json()["orgs"]] == [world.org_b]


def test_own_org_id_does_not_reach_another_orgs_members_or_invites(world: TwoOrgs) -> None:
    """Mallory is owner of org B; org A's user and invite ids under /orgs/B/... must not resolve."""
    before = snapshot(world)
    ids = {"org_id": world.org_b, "user_id": world.alice_id, "invite_id": world.invite_id}
    mixed = [route for route in ORG_ROUTES if set(PATH_PARAM.findall(route.path)) - {"org_id"}]
    assert mixed, "expected routes with ids under an org"
    leaks = []
    for route in mixed:
        response = call(world.mallory, route, ids, body_for(route))
        if response.status_code != 404 or error_code(response) is None:
            leaks.append(f"{route.method} {route.path}: {response.status_code} {response.text[:200]}")
    assert leaks == [], "org B's owner reached org A's data:\n" + "\n".join(leaks)
    assert snapshot(world) == before
    members_b = world.mallory.get(f"/orgs/{world.org_b}/members").json()["members"]
    assert [(m["user_id"], m["role"]) for m in members_b] == [(world.mallory_id, "owner")]


def test_an_outsider_cannot_answer_or_see_someone_elses_invite(world: TwoOrgs) -> None:
    before = snapshot(world)
    for answer in ("accept", "decline"):
        response = world.mallory.post(f"/invites/{world.invite_id}/{answer}")
        assert response.status_code == 404, response.text
        assert error_code(response) == "invite_not_found"
    # A member of the inviting org is not the addressee either.
    assert world.mia.post(f"/invites/{world.invite_id}/accept").status_code == 404
    assert world.invite_id not in [i["id"] for i in world.mallory.get("/invites").json()["invites"]]
    assert world.invite_id not in [i["id"] for i in world.mia.get("/invites").json()["invites"]]
    assert snapshot(world) == before
    assert (world.invite_id, world.carol_email, "admin", "pending") in [i[:4] for i in before["invites"]]


@dataclass
class RoleOrg:
    olivia: Api  # the only owner
    olivia_id: str
    adam: Api  # an admin
    adam_id: str
    mike: Api  # a member
    mike_id: str
    org: str
    invite_id: str  # pending


@pytest.fixture(scope="module")
def roles(stack: RunningStack) -> RoleOrg:
    olivia = sign_in(stack.base_url, unique_email("olivia"))
    org = unique_org_id("roles")
    assert olivia.post("/orgs", json={"id": org, "display_name": "Roles"}).status_code == 201
    joined: dict[str, Api] = {}
    for name, role in (("adam", "admin"), ("mike", "member")):
        email = unique_email(name)
        invite = olivia.post(f"/orgs/{org}/invites", json={"email": email, "role": role})
        assert invite.status_code == 201, invite.text
        joined[name] = sign_in(stack.base_url, email)
        accepted = joined[name].post(f"/invites/{invite.json()['id']}/accept")
        assert accepted.status_code == 200 and accepted.json()["role"] == role
    pending = olivia.post(f"/orgs/{org}/invites", json={"email": unique_email("pending")})
    assert pending.status_code == 201, pending.text
    return RoleOrg(
        olivia=olivia,
        olivia_id=user_id(olivia),
        adam=joined["adam"],
        adam_id=user_id(joined["adam"]),
        mike=joined["mike"],
        mike_id=user_id(joined["mike"]),
        org=org,
        invite_id=pending.json()["id"],
    )


def role_snapshot(roles: RoleOrg) -> dict[str, Any]:
    org = roles.olivia.get(f"/orgs/{roles.org}").json()
    members = roles.olivia.get(f"/orgs/{roles.org}/members").json()["members"]
    invites = roles.olivia.get(f"/orgs/{roles.org}/invites").json()["invites"]
    return {
        "display_name": org["display_name"],
        "members": {m["user_id"]: m["role"] for m in members},
        "invites": sorted(i["id"] for i in invites),
    }


def assert_forbidden(response: httpx.Response, what: str) -> None:
    assert response.status_code == 403, f"{what}: {response.status_code} {response.text}"
    assert error_code(response) == "insufficient_role", f"{what}: {response.text}"


def test_a_member_reads_but_cannot_manage(roles: RoleOrg) -> None:
    before = role_snapshot(roles)
    assert before["members"] == {roles.olivia_id: "owner", roles.adam_id: "admin", roles.mike_id: "member"}
    org, mike = roles.org, roles.mike
    for path in (f"/orgs/{org}", f"/orgs/{org}/members", f"/orgs/{org}/invites"):
        assert mike.get(path).status_code == 200, path

    assert_forbidden(mike.patch(f"/orgs/{org}", json={"display_name": "Mine"}), "rename")
    assert_forbidden(mike.post(f"/orgs/{org}/invites", json={"email": unique_email("x")}), "invite")
    assert_forbidden(mike.delete(f"/orgs/{org}/invites/{roles.invite_id}"), "cancel invite")
    assert_forbidden(mike.patch(f"/orgs/{org}/members/{roles.adam_id}", json={"role": "member"}), "demote")
    assert_forbidden(mike.patch(f"/orgs/{org}/members/{roles.mike_id}", json={"role": "owner"}), "promote")
    assert_forbidden(mike.delete(f"/orgs/{org}/members/{roles.adam_id}"), "remove another")
    assert_forbidden(mike.delete(f"/orgs/{org}"), "delete org")
    assert role_snapshot(roles) == before


def test_an_admin_invites_but_does_not_change_roles_or_make_owners(roles: RoleOrg) -> None:
    org, adam = roles.org, roles.adam
    for role in ("member", "admin"):
        invited = adam.post(f"/orgs/{org}/invites", json={"email": unique_email(role), "role": role})
        assert invited.status_code == 201, invited.text
        assert invited.json()["role"] == role
    before = role_snapshot(roles)
    assert_forbidden(
        adam.post(f"/orgs/{org}/invites", json={"email": unique_email("boss"), "role": "owner"}),
        "admin invites an owner",
    )
    assert_forbidden(adam.patch(f"/orgs/{org}/members/{roles.mike_id}", json={"role": "admin"}), "promote")
    assert_forbidden(adam.patch(f"/orgs/{org}/members/{roles.adam_id}", json={"role": "owner"}), "self-owner")
    assert_forbidden(adam.delete(f"/orgs/{org}/members/{roles.olivia_id}"), "admin removes the owner")
    assert_forbidden(adam.delete(f"/orgs/{org}"), "admin deletes the org")
    assert role_snapshot(roles) == before


def test_the_last_owner_stays_and_a_member_may_leave(roles: RoleOrg) -> None:
    org, olivia = roles.org, roles.olivia
    for response in (
        olivia.patch(f"/orgs/{org}/members/{roles.olivia_id}", json={"role": "admin"}),
        olivia.delete(f"/orgs/{org}/members/{roles.olivia_id}"),
    ):
        assert response.status_code == 409, response.text
        assert error_code(response) == "last_owner"
    assert role_snapshot(roles)["members"][roles.olivia_id] == "owner"

    left = roles.mike.delete(f"/orgs/{org}/members/{roles.mike_id}")
    assert left.status_code == 204, left.text
    assert roles.mike.get(f"/orgs/{org}").status_code == 404
    assert org not in [o["id"] for o in roles.mike.get("/orgs").json()["orgs"]]
    assert roles.mike_id not in role_snapshot(roles)["members"]
