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

from plutomi.bootstrap import dependencies
from plutomi.domain.documents import Document, DocumentState, document_key
from plutomi.entrypoints import swagger_ui
from plutomi.topology import API_ROUTES, Route
from tests.conftest import unique_email, unique_org_id
from tests.support.http import Api, sign_in
from tests.support.observed import error_code
from tests.support.stack import RunningStack

Body = dict[str, Any]

# A syntactically valid body for every route in API_ROUTES (None: the route takes no body). Fresh values
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
    ("PATCH", "/orgs/{org_id}/applications/{application_id}"): lambda: {
        "name": "Hijacked",
        "status": "closed",
    },
    ("DELETE", "/orgs/{org_id}/applications/{application_id}"): None,
    ("POST", "/orgs/{org_id}/applications/{application_id}/stages"): lambda: {
        "name": "Planted",
        "position": 0,
    },
    ("GET", "/orgs/{org_id}/applications/{application_id}/stages"): None,
    ("GET", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}"): None,
    ("PATCH", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}"): lambda: {
        "name": "Hijacked",
        "position": 1,
    },
    ("DELETE", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}"): None,
    ("POST", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions"): lambda: {
        "type": "text",
        "title": "Planted?",
        "position": 0,
    },
    (
        "PATCH",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions/{question_id}",
    ): lambda: {"title": "Hijacked?", "required": False},
    (
        "DELETE",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions/{question_id}",
    ): None,
    ("POST", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules"): lambda: {
        "rule": {"kind": "idle", "to_stage_id": "stg_somewhere", "after": {"amount": 1, "unit": "days"}},
    },
    ("PATCH", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules/{rule_id}"): lambda: {
        "rule": {"kind": "idle", "to_stage_id": "stg_somewhere", "after": {"amount": 5, "unit": "minutes"}},
    },
    ("DELETE", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules/{rule_id}"): None,
    ("GET", "/orgs/{org_id}/applications/{application_id}/applicants"): None,
    ("GET", "/orgs/{org_id}/applicants/{applicant_id}"): None,
    ("POST", "/orgs/{org_id}/applicants/{applicant_id}/move"): lambda: {
        "from_stage_id": "stg_one",
        "to_stage_id": "stg_two",
    },
    ("DELETE", "/orgs/{org_id}/applicants/{applicant_id}"): None,
    ("POST", "/orgs/{org_id}/applicants/{applicant_id}/reject"): lambda: {
        "reason_id": "rjr_any",
        "note": "by mallory",
        "send_email": False,
    },
    ("POST", "/orgs/{org_id}/applicants/{applicant_id}/reopen"): None,
    ("POST", "/orgs/{org_id}/applicants/{applicant_id}/accept"): lambda: {"note": "by mallory"},
    ("GET", "/orgs/{org_id}/rejection-reasons"): None,
    ("POST", "/orgs/{org_id}/rejection-reasons"): lambda: {"label": "Planted by mallory"},
    ("PATCH", "/orgs/{org_id}/rejection-reasons/{reason_id}"): lambda: {"label": "Hijacked by mallory"},
    ("DELETE", "/orgs/{org_id}/rejection-reasons/{reason_id}"): None,
    ("POST", "/orgs/{org_id}/webhooks"): lambda: {
        "url": "https://example.invalid/planted",
        "event_types": ["*"],
        "description": "by mallory",
    },
    ("GET", "/orgs/{org_id}/webhooks"): None,
    ("GET", "/orgs/{org_id}/webhooks/{webhook_id}"): None,
    ("PATCH", "/orgs/{org_id}/webhooks/{webhook_id}"): lambda: {
        "url": "https://example.invalid/stolen",
        "enabled": False,
    },
    ("DELETE", "/orgs/{org_id}/webhooks/{webhook_id}"): None,
    ("GET", "/orgs/{org_id}/webhooks/{webhook_id}/deliveries"): None,
    ("GET", "/orgs/{org_id}/email-templates"): None,
    ("GET", "/orgs/{org_id}/email-templates/rejected"): None,
    ("PUT", "/orgs/{org_id}/email-templates/rejected"): lambda: {
        "subject": "Planted {{org}}",
        "body": "By mallory, {{first_name}}",
    },
    ("DELETE", "/orgs/{org_id}/email-templates/rejected"): None,
    ("POST", "/orgs/{org_id}/email-templates/rejected/preview"): lambda: {"subject": "Peek {{org}}"},
    ("GET", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template"): None,
    ("PUT", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template"): lambda: {
        "subject": "Planted {{stage}}",
        "body": "By mallory, {{first_name}}: {{portal_link}}",
    },
    ("DELETE", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template"): None,
    (
        "POST",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template/preview",
    ): lambda: {"body": "Peek {{stage}}"},
    ("GET", "/public/orgs/{org_id}/applications"): None,
    ("GET", "/public/orgs/{org_id}/applications/{application_id}"): None,
    ("POST", "/public/orgs/{org_id}/applications/{application_id}/applicants"): lambda: {
        "email": unique_email("applicant"),
        "first_name": "Ann",
        "last_name": "Applicant",
    },
    ("GET", "/public/applicants/{token}"): None,
    ("POST", "/public/applicants/{token}/answers"): lambda: {"answers": {"qst_any": "an answer"}},
    ("POST", "/public/applicants/{token}/withdraw"): None,
    ("POST", "/public/applicants/{token}/uploads"): lambda: {
        "question_id": "qst_any",
        "file_name": "licence.pdf",
        "content_type": "application/pdf",
        "size_bytes": 1000,
    },
    ("GET", "/orgs/{org_id}/applicants/{applicant_id}/documents"): None,
    ("GET", "/orgs/{org_id}/documents/{document_id}"): None,
    ("GET", "/orgs/{org_id}/documents/{document_id}/open"): None,
    ("GET", "/unsubscribe/{token}"): None,
    ("POST", "/unsubscribe/{token}"): None,  # one-click: mail clients send a form body, which is ignored
    ("GET", "/health"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/docs"): None,
    ("GET", "/docs/{asset}"): None,
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
            f"{route.method} {route.path}: no real id for {missing}; create one in build_pipeline() "
            f"or the fixtures of {__file__} and add it to the ids the tests pass"
        )
    return PATH_PARAM.sub(lambda m: values[m.group(1)], route.path)


def call(api: Api, route: Route, values: dict[str, str], body: Body | None) -> httpx.Response:
    return api.request(route.method, fill_path(route, values), json=body)


def anonymised(response: httpx.Response, org_id: str) -> tuple[int, str | None, str]:
    """Status, code and message with the org id blanked, to compare answers about two orgs."""
    message = response.json()["error"]["message"] if error_code(response) else response.text
    return response.status_code, error_code(response), message.replace(org_id, "ORG")


def user_id(api: Api) -> str:
    me = api.get("/users/me")
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


def is_public(route: Route) -> bool:
    """Routes that need no sign-in (`Route.public`; test_bad_input.py checks the others answer 401)."""
    return route.public


def stored_document(org: str, application: str, stage: str, question: str, applicant: str) -> str:
    """A confirmed document of the applicant, straight in the store (uploading takes the portal's
    secret, which only travels by email; tests/integration/test_documents.py uploads for real)."""
    deps = dependencies()
    now = deps.clock.now()
    document_id = deps.clock.new_id("doc")
    deps.store.documents.create(
        Document(
            id=document_id,
            org_id=org,
            applicant_id=applicant,
            application_id=application,
            stage_id=stage,
            question_id=question,
            key=document_key(org, applicant, document_id),
            file_name="licence.pdf",
            content_type="application/pdf",
            sniffed_type="application/pdf",
            size_bytes=1000,
            state=DocumentState.CONFIRMED,
            created_at=now,
            updated_at=now,
        )
    )
    return document_id


def build_pipeline(owner: Api, org: str, stack: RunningStack) -> dict[str, str]:
    """An open application (two stages, a question, a rule, an applicant) and a webhook; returns ids."""
    created = owner.post(f"/orgs/{org}/applications", json={"name": "Drivers", "description": "Vans"})
    assert created.status_code == 201, created.text
    application = created.json()["id"]
    base = f"/orgs/{org}/applications/{application}"
    for name in ("Screen", "Interview"):
        assert owner.post(f"{base}/stages", json={"name": name}).status_code == 201
    first, second = (s["id"] for s in owner.get(base).json()["stages"])
    asked = owner.post(f"{base}/stages/{first}/questions", json={"type": "boolean", "title": "Licence?"})
    assert asked.status_code == 201, asked.text
    question = asked.json()["questions"][0]["id"]
    condition = {"question_id": question, "operator": "is_true"}
    ruled = owner.post(
        f"{base}/stages/{first}/rules",
        json={"rule": {"kind": "answer", "to_stage_id": second, "conditions": [condition]}},
    )
    assert ruled.status_code == 201, ruled.text
    assert owner.patch(base, json={"status": "open"}).status_code == 200
    applied = Api(stack.base_url).post(
        f"/public/orgs/{org}/applications/{application}/applicants",
        json={"email": unique_email("ann"), "first_name": "Ann", "last_name": "Applicant"},
    )
    assert applied.status_code == 202, applied.text
    applicant = owner.get(f"{base}/applicants").json()["applicants"][0]["id"]
    hooked = owner.post(
        f"/orgs/{org}/webhooks",
        json={"url": "https://example.invalid/hooks", "event_types": ["webhook.deleted"]},
    )
    assert hooked.status_code == 201, hooked.text
    reasons = owner.get(f"/orgs/{org}/rejection-reasons")
    assert reasons.status_code == 200, reasons.text
    return {
        "document_id": stored_document(org, application, first, question, applicant),
        "application_id": application,
        "stage_id": first,
        "question_id": question,
        "rule_id": ruled.json()["rules"][0]["id"],
        "applicant_id": applicant,
        "token": f"{applicant}.not-the-secret",  # the real secret only ever travels by email
        "webhook_id": hooked.json()["id"],
        "reason_id": reasons.json()["rejection_reasons"][0]["id"],
        "asset": next(iter(swagger_ui.assets())),  # one of Swagger UI's files under /docs/
    }


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
    pipeline: dict[str, str]  # ids of org A's open application, its stage, question, rule, applicant
    draft_id: str  # an application of org A that is not open

    @property
    def ids_a(self) -> dict[str, str]:
        """Real ids from org A for every path parameter."""
        return {"org_id": self.org_a, "user_id": self.alice_id, "invite_id": self.invite_id, **self.pipeline}


def snapshot(world: TwoOrgs) -> dict[str, Any]:
    """Org A as alice sees it: name, members, invites, applications, stages and applicants."""
    alice, org, ids = world.alice, world.org_a, world.pipeline
    application = f"/orgs/{org}/applications/{ids['application_id']}"
    reads = {
        "org": f"/orgs/{org}",
        "members": f"/orgs/{org}/members",
        "invites": f"/orgs/{org}/invites",
        "applications": f"/orgs/{org}/applications",
        "application": application,
        "stages": f"{application}/stages",
        "applicants": f"{application}/applicants",
        "applicant": f"/orgs/{org}/applicants/{ids['applicant_id']}",
        "draft": f"/orgs/{org}/applications/{world.draft_id}",
        "webhooks": f"/orgs/{org}/webhooks",
        "email_templates": f"/orgs/{org}/email-templates",
        "stage_email_template": f"{application}/stages/{ids['stage_id']}/email-template",
        "rejection_reasons": f"/orgs/{org}/rejection-reasons",
    }
    seen = {}
    for name, path in reads.items():
        response = alice.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        seen[name] = response.json()
    return seen


@pytest.fixture(scope="module")
def world(stack: RunningStack) -> TwoOrgs:
    return make_world(stack)


def make_world(stack: RunningStack) -> TwoOrgs:
    """Org A (alice the owner, mia a member, a pending invite, a pipeline, a draft) and mallory's org B."""
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
    pipeline = build_pipeline(alice, org_a, stack)
    draft = alice.post(f"/orgs/{org_a}/applications", json={"name": "Secret plans"})
    assert draft.status_code == 201, draft.text

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
        pipeline=pipeline,
        draft_id=draft.json()["id"],
    )


ORG_ROUTES = [route for route in API_ROUTES if route.path.startswith("/orgs/{org_id}")]


def test_every_route_has_an_entry_in_the_body_table() -> None:
    keys = {(route.method, route.path) for route in API_ROUTES}
    missing = sorted(f"{m} {p}" for m, p in keys - set(VALID_BODIES))
    stale = sorted(f"{m} {p}" for m, p in set(VALID_BODIES) - keys)
    assert missing == [], f"add these routes to VALID_BODIES in {__file__} (None if no body): {missing}"
    assert stale == [], f"VALID_BODIES names routes that no longer exist: {stale}"


def test_the_route_table_has_org_routes() -> None:
    assert len(ORG_ROUTES) >= 8, [f"{r.method} {r.path}" for r in ORG_ROUTES]
    assert not [r for r in ORG_ROUTES if is_public(r)]
    # Every route that names an org is either behind /orgs (members only) or deliberately public.
    assert all(r.path.startswith(("/orgs/{org_id}", "/public/")) for r in API_ROUTES if "{org_id}" in r.path)


def test_no_org_route_lets_an_outsider_in(world: TwoOrgs) -> None:
    before = snapshot(world)
    ids = world.ids_a
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
    after = snapshot(world)
    assert after == before
    assert after["org"]["display_name"] == "Alpha"
    assert {(m["user_id"], m["role"]) for m in after["members"]["members"]} == {
        (world.alice_id, "owner"),
        (world.mia_id, "member"),
    }
    assert [i["id"] for i in after["invites"]["invites"]] == [world.invite_id]
    assert [o["id"] for o in world.mallory.get("/orgs").json()["orgs"]] == [world.org_b]


def test_own_org_id_does_not_reach_another_orgs_data(world: TwoOrgs) -> None:
    """Mallory owns org B; org A's ids under /orgs/B/... (and /public/orgs/B/...) must not resolve."""
    before = snapshot(world)
    ids = {**world.ids_a, "org_id": world.org_b}
    mixed = [
        route
        for route in API_ROUTES
        if "{org_id}" in route.path and set(PATH_PARAM.findall(route.path)) - {"org_id"}
    ]
    assert len(mixed) >= 5, "expected routes with ids under an org"
    leaks = []
    for route in mixed:
        api = Api(world.mallory.base_url) if is_public(route) else world.mallory
        response = call(api, route, ids, body_for(route))
        if response.status_code != 404 or error_code(response) is None:
            leaks.append(f"{route.method} {route.path}: {response.status_code} {response.text[:200]}")
    assert leaks == [], "org A's data answered under org B:\n" + "\n".join(leaks)
    assert snapshot(world) == before
    members_b = world.mallory.get(f"/orgs/{world.org_b}/members").json()["members"]
    assert [(m["user_id"], m["role"]) for m in members_b] == [(world.mallory_id, "owner")]
    assert world.mallory.get(f"/orgs/{world.org_b}/applications").json()["applications"] == []


def test_public_routes_show_only_open_applications(world: TwoOrgs, stack: RunningStack) -> None:
    anonymous = Api(stack.base_url)
    listed = anonymous.get(f"/public/orgs/{world.org_a}/applications")
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["applications"]] == [world.pipeline["application_id"]]
    assert set(listed.json()["applications"][0]) == {"id", "org_id", "name", "description"}
    hidden = anonymous.get(f"/public/orgs/{world.org_a}/applications/{world.draft_id}")
    assert hidden.status_code == 404 and error_code(hidden), hidden.text
    applied = anonymous.post(
        f"/public/orgs/{world.org_a}/applications/{world.draft_id}/applicants",
        json={"email": unique_email("early"), "first_name": "Early", "last_name": "Bird"},
    )
    assert applied.status_code == 404 and error_code(applied), applied.text
    for path in (f"/public/applicants/{world.pipeline['token']}", f"/public/applicants/{world.draft_id}.x"):
        portal = anonymous.get(path)
        assert portal.status_code == 404 and error_code(portal), f"{path}: {portal.text}"


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
    after = snapshot(world)
    assert after == before
    [invite] = after["invites"]["invites"]
    assert (invite["id"], invite["email"], invite["status"]) == (
        world.invite_id,
        world.carol_email,
        "pending",
    )


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
    reasons = mike.get(f"/orgs/{org}/rejection-reasons")
    assert reasons.status_code == 200 and reasons.json()["rejection_reasons"], reasons.text
    reason = f"/orgs/{org}/rejection-reasons/{reasons.json()['rejection_reasons'][0]['id']}"
    assert_forbidden(mike.post(f"/orgs/{org}/rejection-reasons", json={"label": "Mine"}), "add a reason")
    assert_forbidden(mike.patch(reason, json={"label": "Mine"}), "rename a reason")
    assert_forbidden(mike.delete(reason), "delete a reason")
    assert mike.get(f"/orgs/{org}/rejection-reasons").json() == reasons.json()
    assert_forbidden(mike.delete(f"/orgs/{org}"), "delete org")
    assert_forbidden(mike.post(f"/orgs/{org}/applications", json={"name": "Mine"}), "create application")
    assert mike.get(f"/orgs/{org}/applications").status_code == 200
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
