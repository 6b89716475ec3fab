"""The delivery-driver pipeline over HTTP, as the issue tells it:
Questionnaire (to Waiting List if not completed within 30 days) -> Waiting List -> Document Upload
(uploading the licence moves them on) -> Final Review -> Ready to Drive; a recruiter can always move
someone by hand, rejects with one of the org's reasons (the applicant gets the email) and makes the
final decision."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from plutomi.adapters.clock import FixedClock
from plutomi.bootstrap import dependencies
from plutomi.domain.limits import PORTAL_EMAILS_PER_APPLICANT
from plutomi.runtime.aws_events import schedule_event
from plutomi.runtime.functions import invoke
from tests.conftest import unique_email, unique_org_id
from tests.support.contracts import assert_events_keep_the_contract, stream_position
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack, emails_to, portal_token, wait_for_email

LICENCE_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
STAGES = ["Questionnaire", "Waiting List", "Document Upload", "Final Review", "Ready to Drive"]


def design(recruiter: Api, org_id: str) -> tuple[str, dict[str, str], dict[str, str]]:
    created = recruiter.post(
        f"/orgs/{org_id}/applications", json={"name": "Delivery drivers", "description": "Vans"}
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    base = f"/orgs/{org_id}/applications/{app_id}"
    assert (
        recruiter.patch(base, json={"status": "open"}).json()["error"]["code"] == "application_has_no_stages"
    )
    for name in STAGES[1:]:
        assert recruiter.post(f"{base}/stages", json={"name": name}).status_code == 201
    first = recruiter.post(f"{base}/stages", json={"name": STAGES[0], "position": 0})
    stages = {s["name"]: s["id"] for s in first.json()["stages"]}
    assert [s["name"] for s in first.json()["stages"]] == STAGES

    questionnaire = f"{base}/stages/{stages['Questionnaire']}"
    questions: dict[str, str] = {}
    for body in (
        {"type": "boolean", "title": "Do you hold a driving licence?"},
        {"type": "number", "title": "Years of driving"},
        {"type": "single_choice", "title": "City", "options": ["Lisbon", "Porto"]},
        {"type": "email", "title": "Contact email", "required": False},
    ):
        added = recruiter.post(f"{questionnaire}/questions", json=body)
        assert added.status_code == 201, added.text
        questions[str(body["title"])] = added.json()["questions"][-1]["id"]
    licence, years = questions["Do you hold a driving licence?"], questions["Years of driving"]

    answer_rule = {
        "kind": "answer",
        "to_stage_id": stages["Waiting List"],
        "match": "all",
        "conditions": [
            {"question_id": licence, "operator": "is_true"},
            {"question_id": years, "operator": "gte", "value": 2},
        ],
    }
    assert recruiter.post(f"{questionnaire}/rules", json={"rule": answer_rule}).status_code == 201
    idle_rule = {
        "kind": "idle",
        "to_stage_id": stages["Waiting List"],
        "after": {"amount": 30, "unit": "days"},
    }
    assert recruiter.post(f"{questionnaire}/rules", json={"rule": idle_rule}).status_code == 201
    own = recruiter.post(
        f"{questionnaire}/rules", json={"rule": {**idle_rule, "to_stage_id": stages["Questionnaire"]}}
    )
    assert own.status_code == 400 and own.json()["error"]["code"] == "rule_targets_own_stage"

    other = recruiter.post(f"/orgs/{org_id}/applications", json={"name": "Other"}).json()["id"]
    foreign = recruiter.post(f"/orgs/{org_id}/applications/{other}/stages", json={"name": "Elsewhere"}).json()
    elsewhere = {**idle_rule, "to_stage_id": foreign["stages"][0]["id"]}
    refused = recruiter.post(f"{questionnaire}/rules", json={"rule": elsewhere})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "rule_target_not_in_application"

    # Document Upload collects the licence; uploading it moves the applicant to Final Review.
    uploads = f"{base}/stages/{stages['Document Upload']}"
    file_question = {"type": "file", "title": "Driving licence", "accepts": ["application/pdf", "image/jpeg"]}
    added = recruiter.post(f"{uploads}/questions", json=file_question)
    assert added.status_code == 201, added.text
    questions["Driving licence"] = added.json()["questions"][-1]["id"]
    uploaded_rule = {
        "kind": "answer",
        "to_stage_id": stages["Final Review"],
        "conditions": [{"question_id": questions["Driving licence"], "operator": "is_present"}],
    }
    assert recruiter.post(f"{uploads}/rules", json={"rule": uploaded_rule}).status_code == 201

    targeted = recruiter.delete(f"{base}/stages/{stages['Waiting List']}")
    assert targeted.status_code == 409 and targeted.json()["error"]["code"] == "stage_targeted_by_rules"
    opened = recruiter.patch(base, json={"status": "open"})
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    return app_id, stages, questions


def test_the_delivery_driver_flow(stack: RunningStack, clock: FixedClock) -> None:
    org_id = unique_org_id("drivers")
    recruiter_email = unique_email("recruiter")
    since = stream_position(dependencies())
    recruiter = sign_in(stack.base_url, recruiter_email)
    assert recruiter.post("/orgs", json={"id": org_id, "display_name": "Fast Vans"}).status_code == 201
    app_id, stages, questions = design(recruiter, org_id)
    licence, years, city = (
        questions["Do you hold a driving licence?"],
        questions["Years of driving"],
        questions["City"],
    )
    public = Api(stack.base_url)
    listed = public.get(f"/public/orgs/{org_id}/applications").json()["applications"]
    assert [a["id"] for a in listed] == [app_id]

    # Bob applies, answers, and the answer rule moves him at once.
    bob = unique_email("bob")
    apply_path = f"/public/orgs/{org_id}/applications/{app_id}/applicants"
    applied = public.post(apply_path, json={"email": bob, "first_name": "Bob", "last_name": "Driver"})
    assert applied.status_code == 202, applied.text
    token = portal_token(bob)
    view = public.get(f"/public/applicants/{token}").json()
    assert view["stage"]["name"] == "Questionnaire" and len(view["stage"]["questions"]) == 4

    wrong = public.post(
        f"/public/applicants/{token}/answers", json={"answers": {years: "many", city: "Faro"}}
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_answers"
    assert {d["field"] for d in wrong.json()["error"]["details"]} == {years, city}

    partial = public.post(
        f"/public/applicants/{token}/answers", json={"answers": {licence: True, city: "Porto"}}
    )
    assert partial.json()["stage"]["name"] == "Questionnaire" and partial.json()["stage"]["complete"] is False
    done = public.post(f"/public/applicants/{token}/answers", json={"answers": {years: "3"}})
    assert done.status_code == 200, done.text
    assert done.json()["stage"]["name"] == "Waiting List"

    # Applying again does not create a second applicant and reveals nothing. Within minutes it sends
    # no second email; later it sends a fresh link, and the first one keeps working.
    again = public.post(apply_path, json={"email": bob.upper(), "first_name": "Bob", "last_name": "Driver"})
    assert again.status_code == 202 and again.json() == applied.json()
    clock.advance(PORTAL_EMAILS_PER_APPLICANT.window)
    lost = public.post(apply_path, json={"email": bob, "first_name": "Bob", "last_name": "Driver"})
    assert lost.status_code == 202 and lost.json() == applied.json()
    new_token = portal_token(bob, after=1)
    assert new_token != token
    assert len(emails_to(bob, "Your application")) == 2, "the apply within minutes sent no email"
    for live in (token, new_token):
        assert public.get(f"/public/applicants/{live}").json()["stage"]["name"] == "Waiting List"

    # Carol applies and never answers: the idle rule moves her after 30 days.
    carol = unique_email("carol")
    assert (
        public.post(apply_path, json={"email": carol, "first_name": "Carol", "last_name": "Late"}).status_code
        == 202
    )
    carol_token = portal_token(carol)
    carol_id = carol_token.split(".")[0]
    clock.advance(timedelta(days=29, hours=23))
    assert invoke("scheduled.idle_sweeper", schedule_event())["moved"] == 0
    clock.advance(timedelta(hours=1, minutes=1))
    assert invoke("scheduled.idle_sweeper", schedule_event())["moved"] == 1
    assert invoke("scheduled.idle_sweeper", schedule_event())["moved"] == 0
    assert recruiter.get("/users/me").status_code == 401  # a month later the session has expired
    recruiter = sign_in(stack.base_url, recruiter_email)
    carol_view = recruiter.get(f"/orgs/{org_id}/applicants/{carol_id}").json()
    assert carol_view["stage_id"] == stages["Waiting List"]
    assert [v["entered_by"]["kind"] for v in carol_view["history"]] == ["applicant", "sweeper"]
    assert carol_view["history"][0]["exited_at"] is not None

    # A recruiter moves Bob on; a second recruiter with a stale view gets a 409, nothing is undone.
    bob_id = new_token.split(".")[0]
    move = {"from_stage_id": stages["Waiting List"], "to_stage_id": stages["Document Upload"]}
    moved = recruiter.post(f"/orgs/{org_id}/applicants/{bob_id}/move", json=move)
    assert moved.status_code == 200 and moved.json()["stage_id"] == stages["Document Upload"]
    stale = recruiter.post(
        f"/orgs/{org_id}/applicants/{bob_id}/move",
        json={"from_stage_id": stages["Waiting List"], "to_stage_id": stages["Ready to Drive"]},
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "applicant_not_in_stage"
    bob_view = recruiter.get(f"/orgs/{org_id}/applicants/{bob_id}").json()
    assert bob_view["stage_id"] == stages["Document Upload"]
    assert [(v["entered_by"]["kind"]) for v in bob_view["history"]] == ["applicant", "rule", "user"]
    assert bob_view["answers"][years] == 3 and bob_view["answers"][licence] is True

    # Lists by stage, a page at a time.
    waiting = recruiter.get(f"/orgs/{org_id}/applications/{app_id}/applicants?stage={stages['Waiting List']}")
    assert [a["id"] for a in waiting.json()["applicants"]] == [carol_id]
    first_page = recruiter.get(f"/orgs/{org_id}/applications/{app_id}/applicants?limit=1").json()
    assert len(first_page["applicants"]) == 1 and first_page["next_cursor"]
    second_page = recruiter.get(
        f"/orgs/{org_id}/applications/{app_id}/applicants?limit=1&cursor={first_page['next_cursor']}"
    ).json()
    ids: list[Any] = [first_page["applicants"][0]["id"], second_page["applicants"][0]["id"]]
    assert sorted(ids) == sorted([bob_id, carol_id]) and second_page["next_cursor"] is None

    # Erasure keeps an anonymous history and frees the email.
    assert recruiter.delete(f"/orgs/{org_id}/applicants/{carol_id}").status_code == 204
    assert recruiter.get(f"/orgs/{org_id}/applicants/{carol_id}").status_code == 404
    assert public.get(f"/public/applicants/{carol_token}").status_code == 404
    remaining = recruiter.get(f"/orgs/{org_id}/applications/{app_id}/applicants").json()["applicants"]
    assert [a["id"] for a in remaining] == [bob_id]

    # Bob uploads his licence: he asks for an upload, posts the form straight to storage, answers with
    # the document id, and the is_present rule moves him to Final Review, where a recruiter opens it.
    asked = public.post(
        f"/public/applicants/{new_token}/uploads",
        json={
            "question_id": questions["Driving licence"],
            "file_name": "licence.pdf",
            "content_type": "application/pdf",
            "size_bytes": len(LICENCE_PDF),
        },
    )
    assert asked.status_code == 201, asked.text
    form = asked.json()["upload"]
    posted = httpx.post(form["url"], data=form["fields"], files={"file": ("licence.pdf", LICENCE_PDF)})
    assert posted.status_code in (200, 201, 204), posted.text
    answers = {questions["Driving licence"]: [asked.json()["document_id"]]}
    uploaded = public.post(f"/public/applicants/{new_token}/answers", json={"answers": answers})
    assert uploaded.status_code == 200 and uploaded.json()["stage"]["name"] == "Final Review", uploaded.text
    (licence,) = recruiter.get(f"/orgs/{org_id}/applicants/{bob_id}/documents").json()["documents"]
    assert licence["file_name"] == "licence.pdf" and licence["scan_status"] == "not_scanned"
    opened = recruiter.get(f"/orgs/{org_id}/documents/{licence['id']}/open")
    assert opened.status_code == 302 and httpx.get(opened.headers["location"]).content == LICENCE_PDF
    # Dave applies and a recruiter moves him to Document Upload by hand. Deleting that stage while he
    # is in it needs a destination: he goes to Final Review with Bob.
    dave = unique_email("dave")
    assert (
        public.post(
            apply_path, json={"email": dave, "first_name": "Dave", "last_name": "Nolicence"}
        ).status_code
        == 202
    )
    dave_token = portal_token(dave)
    dave_id = dave_token.split(".")[0]
    to_upload = {"from_stage_id": stages["Questionnaire"], "to_stage_id": stages["Document Upload"]}
    assert recruiter.post(f"/orgs/{org_id}/applicants/{dave_id}/move", json=to_upload).status_code == 200
    base = f"/orgs/{org_id}/applications/{app_id}/stages"
    held = recruiter.delete(f"{base}/{stages['Document Upload']}")
    assert held.status_code == 409 and held.json()["error"]["code"] == "stage_has_applicants"
    moved_out = recruiter.delete(
        f"{base}/{stages['Document Upload']}?move_applicants_to={stages['Final Review']}"
    )
    assert moved_out.status_code == 200, moved_out.text
    assert recruiter.get(f"/orgs/{org_id}/applicants/{dave_id}").json()["stage_id"] == stages["Final Review"]

    # Final Review: Dave has no licence to show and is rejected with one of the org's reasons; he gets
    # the rejection email, his portal says so, and he leaves the active list.
    reasons = recruiter.get(f"/orgs/{org_id}/rejection-reasons").json()["rejection_reasons"]
    not_qualified = next(r["id"] for r in reasons if r["label"] == "Not qualified")
    rejected = recruiter.post(
        f"/orgs/{org_id}/applicants/{dave_id}/reject",
        json={"reason_id": not_qualified, "note": "No licence uploaded"},
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text
    (decision,) = rejected.json()["decisions"]
    assert decision["reason_label"] == "Not qualified" and decision["by"]["kind"] == "user"
    rejection = wait_for_email(dave, subject_contains="Your application to Delivery drivers")
    assert "Hi Dave" in rejection.text and "No licence uploaded" not in rejection.text
    assert public.get(f"/public/applicants/{dave_token}").json()["status"] == "rejected"
    active = recruiter.get(f"/orgs/{org_id}/applications/{app_id}/applicants").json()["applicants"]
    assert [a["id"] for a in active] == [bob_id]

    # The final decision: Bob is ready to drive, and his portal shows it.
    ready = {"from_stage_id": stages["Final Review"], "to_stage_id": stages["Ready to Drive"]}
    assert recruiter.post(f"/orgs/{org_id}/applicants/{bob_id}/move", json=ready).status_code == 200
    accepted = recruiter.post(f"/orgs/{org_id}/applicants/{bob_id}/accept", json={"note": "Starts Monday"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
    assert public.get(f"/public/applicants/{new_token}").json()["status"] == "accepted"

    # Every event of the flow is valid by the schema /openapi.json publishes for its type.
    assert_events_keep_the_contract(stack.base_url, dependencies(), org_id, since)
