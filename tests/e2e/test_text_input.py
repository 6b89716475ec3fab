"""Text over HTTP: every text field of every route refuses control characters, bidi controls, hidden
formatting, unpaired surrogates and invisible-only text with a 422 naming the field; answers do the
same as `invalid_answers`; and names stored before the rules still get their emails out, cleanly.

The field list comes from `test_tenant_isolation.VALID_BODIES`, so a new route is covered here as soon
as it has a valid body there; `tests/unit/test_text_fields.py` checks every schema field itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from plutomi.domain import text
from plutomi.services.ports import Dependencies
from plutomi.topology import API_ROUTES, Route
from tests.conftest import unique_email, unique_org_id
from tests.e2e.test_tenant_isolation import VALID_BODIES, body_for, build_pipeline, fill_path, user_id
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack, portal_token, wait_for_email

# Strings in the valid bodies that are not typed text: ids, addresses, codes, URLs and enums, each
# with rules of its own.
NOT_TEXT = {
    "email",
    "code",
    "id",
    "url",
    "from_stage_id",
    "to_stage_id",
    "reason_id",
    "role",
    "status",
    "type",
    "question_id",
    "content_type",
    # A file's name comes from the applicant's file system, not their keyboard: made one safe line
    # (documents.safe_file_name drops controls and bidi overrides) rather than refused.
    "file_name",
}
# Fields of several lines: a line break is fine there.
STAGE_EMAIL_TEMPLATE = "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template"
MULTI_LINE = {
    ("POST", "/orgs/{org_id}/applications", "description"),
    ("PUT", "/orgs/{org_id}/email-templates/rejected", "body"),
    ("PUT", STAGE_EMAIL_TEMPLATE, "body"),
    ("POST", f"{STAGE_EMAIL_TEMPLATE}/preview", "body"),
    ("POST", "/orgs/{org_id}/applicants/{applicant_id}/reject", "note"),
    ("POST", "/orgs/{org_id}/applicants/{applicant_id}/accept", "note"),
}
HOSTILE = {
    "crlf-injection": ("Night Owls\r\nBcc: victim@example.com", {text.LINE_BREAK}),
    "nul": ("Acme\x00Inc", {text.CONTROL_CHARACTER}),
    "escape": ("Acme\x1b[2J", {text.CONTROL_CHARACTER}),
    "c1": ("Acme\x9bInc", {text.CONTROL_CHARACTER}),
    "bidi-override": ("invoice\u202efdp.exe", {text.BIDI_CONTROL}),
    "isolate": ("Acme\u2066Inc\u2069", {text.BIDI_CONTROL}),
    "bom": ("\ufeffAcme", {text.FORMAT_CHARACTER}),
    "lone-surrogate": ("Acme \ud800", {text.SURROGATE}),
    "zero-width-only": ("\u200b\u200c\u200d\u2060", {text.INVISIBLE}),
    "hangul-filler": ("\u3164\u3164", {text.INVISIBLE}),
}


@dataclass
class Owner:
    api: Api
    org: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def owner(stack: RunningStack) -> Owner:
    api = sign_in(stack.base_url, unique_email("tess"))
    org = unique_org_id("text-input")
    assert api.post("/orgs", json={"id": org, "display_name": "Text Input"}).status_code == 201
    invite = api.post(f"/orgs/{org}/invites", json={"email": unique_email("ivy")})
    assert invite.status_code == 201, invite.text
    ids = {"org_id": org, "user_id": user_id(api), "invite_id": invite.json()["id"]}
    return Owner(api, org, ids | build_pipeline(api, org, stack))


def send(api: Api, method: str, path: str, body: Any) -> httpx.Response:
    """Sends the body as JSON with every non-ASCII character escaped, so an unpaired surrogate
    arrives as the `\\ud800` escape a client may send (it cannot be encoded as UTF-8)."""
    return api.request(
        method, path, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def text_fields(route: Route) -> list[str]:
    body = body_for(route) or {}
    return [name for name, value in body.items() if isinstance(value, str) and name not in NOT_TEXT]


TEXT_ROUTES = [
    route for route in API_ROUTES if VALID_BODIES.get((route.method, route.path)) and text_fields(route)
]


def test_the_text_routes_are_found() -> None:
    assert len(TEXT_ROUTES) >= 8


@pytest.mark.parametrize("hostile", list(HOSTILE), ids=list(HOSTILE))
def test_every_text_field_refuses_hostile_text_with_a_422_naming_it(owner: Owner, hostile: str) -> None:
    value, kinds = HOSTILE[hostile]
    for route in TEXT_ROUTES:
        for name in text_fields(route):
            if kinds == {text.LINE_BREAK} and (route.method, route.path, name) in MULTI_LINE:
                continue
            valid = body_for(route)
            assert valid is not None
            response = send(owner.api, route.method, fill_path(route, owner.ids), {**valid, name: value})
            where = f"{route.method} {route.path} {name}={value!r}"
            assert response.status_code == 422, f"{where}: {response.status_code} {response.text[:300]}"
            error = response.json()["error"]
            assert error["code"] == "validation_failed", where
            [detail] = [d for d in error["details"] if d["field"] == name]
            assert detail["type"] in kinds and detail["message"].startswith("must"), f"{where}: {detail}"


def test_text_that_is_fine_is_kept_and_several_lines_only_where_allowed(owner: Owner) -> None:
    api, org = owner.api, owner.org
    name = "Zoë's Vans 🚐 שלום مرحبا 日本"
    created = api.post(
        f"/orgs/{org}/applications",
        json={"name": f"  {name} ", "description": "Vans\r\n\tand trucks\rand bikes\n"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
    assert created.json()["description"] == "Vans\n\tand trucks\nand bikes"
    base = f"/orgs/{org}/applications/{created.json()['id']}"

    tabbed = api.post(f"{base}/stages", json={"name": "Screen\tOne"})
    assert tabbed.status_code == 422 and tabbed.json()["error"]["details"][0]["type"] == text.LINE_BREAK
    assert api.post(f"{base}/stages", json={"name": "Screen"}).status_code == 201
    stage = api.get(base).json()["stages"][0]["id"]
    question = {"type": "single_choice", "title": "City", "help_text": "Where?\r\nPick one.", "options": []}
    asked = api.post(f"{base}/stages/{stage}/questions", json={**question, "options": ["Lisbon", "Por\nto"]})
    assert asked.status_code == 422, asked.text
    assert [d["field"] for d in asked.json()["error"]["details"]] == ["options.1"]
    asked = api.post(f"{base}/stages/{stage}/questions", json={**question, "options": ["Lisbon", "Porto"]})
    assert asked.status_code == 201, asked.text
    assert asked.json()["questions"][0]["help_text"] == "Where?\nPick one."
    refused = api.post(f"{base}/stages/{stage}/questions", json={**question, "title": "City\u202e"})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "title"


def test_answers_refuse_hostile_text_as_invalid_answers(owner: Owner, stack: RunningStack) -> None:
    api, org = owner.api, owner.org
    created = api.post(f"/orgs/{org}/applications", json={"name": "Answers"})
    base = f"/orgs/{org}/applications/{created.json()['id']}"
    assert api.post(f"{base}/stages", json={"name": "Questions"}).status_code == 201
    stage = api.get(base).json()["stages"][0]["id"]
    ids = {}
    for kind in ("text", "long_text", "url"):
        added = api.post(
            f"{base}/stages/{stage}/questions", json={"type": kind, "title": kind, "required": False}
        )
        assert added.status_code == 201, added.text
        ids[kind] = added.json()["questions"][-1]["id"]
    assert api.patch(base, json={"status": "open"}).status_code == 200
    email = unique_email("answers")
    path = f"/public/orgs/{org}/applications/{created.json()['id']}/applicants"
    assert (
        Api(stack.base_url).post(path, json={"email": email, "first_name": "A", "last_name": "B"}).status_code
        == 202
    )
    token = portal_token(email)
    public = Api(stack.base_url)

    hostile = {
        ids["text"]: "Ann\r\nBcc: x@example.com",
        ids["long_text"]: "fine\n\x07",
        ids["url"]: "https://x.test/\u202e",
    }
    wrong = send(public, "POST", f"/public/applicants/{token}/answers", {"answers": hostile})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_answers", wrong.text
    assert {d["field"] for d in wrong.json()["error"]["details"]} == set(hostile)
    surrogate = send(
        public, "POST", f"/public/applicants/{token}/answers", {"answers": {ids["text"]: "\udc00"}}
    )
    assert surrogate.status_code == 422 and surrogate.json()["error"]["code"] == "invalid_answers"

    good = {ids["text"]: "  Ann O'Hara שלום ", ids["long_text"]: "line one\r\n\tline two"}
    answered = public.post(f"/public/applicants/{token}/answers", json={"answers": good})
    assert answered.status_code == 200, answered.text
    assert answered.json()["stage"]["answers"] == {
        ids["text"]: "Ann O'Hara שלום",
        ids["long_text"]: "line one\n\tline two",
    }


STORED = "\r\nBcc: victim@example.com\r\nX-Injected: yes\x00\x07\u202e"


def test_names_stored_before_the_rules_still_get_their_emails_out(
    owner: Owner, stack: RunningStack, deps: Dependencies
) -> None:
    """Through the whole pipeline (outbox, relay, NATS, bridge, consumer, moto): the email arrives, so
    the event was not retried towards the DLQ, and nothing was injected into it."""
    api, org = owner.api, owner.org
    application_id = owner.ids["application_id"]
    # As written before names were checked: straight into MongoDB.
    items = deps.store.items
    items.update_one({"_id": {"$eq": f"org_{org}"}}, {"$set": {"display_name": f"Text Input{STORED}"}})
    items.update_one({"_id": {"$eq": application_id}}, {"$set": {"name": f"Drivers{STORED}"}})

    invitee = unique_email("stored-invite")
    assert api.post(f"/orgs/{org}/invites", json={"email": invitee}).status_code == 201
    invite = wait_for_email(invitee, subject_contains="invited you", timeout=30)
    applicant = unique_email("stored-apply")
    path = f"/public/orgs/{org}/applications/{application_id}/applicants"
    assert (
        Api(stack.base_url)
        .post(path, json={"email": applicant, "first_name": "Ann", "last_name": "B"})
        .status_code
        == 202
    )
    link = wait_for_email(applicant, subject_contains="Your application", timeout=30)

    for mail, to, name in ((invite, invitee, "Text Input"), (link, applicant, "Drivers")):
        assert mail.to == (to,), mail.to
        assert not {h.lower() for h in mail.headers} & {"bcc", "cc", "x-injected"}, mail.headers
        assert f"{name} Bcc: victim@example.com X-Injected: yes" in mail.subject
        for part in (mail.subject, mail.text, mail.html or ""):
            assert not any(char in part for char in "\x00\x07\u202e\r"), repr(part)
