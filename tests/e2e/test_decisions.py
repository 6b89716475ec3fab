"""Decisions over HTTP: rejection reasons (defaults, CRUD, limits, other orgs), rejecting with a
reason, reopening, the final decision, withdrawing from the portal, the status lists, and what a
decided applicant is kept out of (answer rules, the idle sweeper, recruiters' moves)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from plutomi.adapters.clock import FixedClock
from plutomi.domain.decisions import DEFAULT_REJECTION_REASONS, MAX_REJECTION_REASONS
from plutomi.runtime.aws_events import schedule_event
from plutomi.runtime.functions import invoke
from plutomi.services.moves import update_applicant
from plutomi.services.ports import Dependencies
from tests.conftest import unique_email, unique_org_id
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack, portal_token


@dataclass
class Hiring:
    recruiter: Api
    recruiter_id: str
    org: str
    app: str
    stages: dict[str, str]
    licence: str  # the boolean question on Screen: true moves to Review


def open_application(recruiter: Api, org: str) -> tuple[str, dict[str, str], str]:
    """Screen (a licence question; true -> Review, 1 idle day -> Review), Review, Final; open."""
    app = recruiter.post(f"/orgs/{org}/applications", json={"name": "Drivers"}).json()["id"]
    base = f"/orgs/{org}/applications/{app}"
    for name in ("Screen", "Review", "Final"):
        assert recruiter.post(f"{base}/stages", json={"name": name}).status_code == 201
    stages = {s["name"]: s["id"] for s in recruiter.get(base).json()["stages"]}
    screen = f"{base}/stages/{stages['Screen']}"
    asked = recruiter.post(f"{screen}/questions", json={"type": "boolean", "title": "Licence?"})
    licence = asked.json()["questions"][0]["id"]
    to_review = {"to_stage_id": stages["Review"]}
    condition = {"question_id": licence, "operator": "is_true"}
    for rule in (
        {"kind": "answer", **to_review, "conditions": [condition]},
        {"kind": "idle", **to_review, "after": {"amount": 1, "unit": "days"}},
    ):
        assert recruiter.post(f"{screen}/rules", json={"rule": rule}).status_code == 201
    assert recruiter.patch(base, json={"status": "open"}).status_code == 200
    return app, stages, licence


@pytest.fixture
def hiring(stack: RunningStack, clock: FixedClock) -> Hiring:
    recruiter = sign_in(stack.base_url, unique_email("recruiter"))
    org = unique_org_id("decide")
    assert recruiter.post("/orgs", json={"id": org, "display_name": "Fast Vans"}).status_code == 201
    app, stages, licence = open_application(recruiter, org)
    return Hiring(recruiter, recruiter.get("/users/me").json()["id"], org, app, stages, licence)


def apply(stack: RunningStack, hiring: Hiring, name: str) -> tuple[str, str]:
    """Applies as `name`; returns (applicant id, portal token)."""
    email = unique_email(name)
    path = f"/public/orgs/{hiring.org}/applications/{hiring.app}/applicants"
    applied = Api(stack.base_url).post(path, json={"email": email, "first_name": name, "last_name": "X"})
    assert applied.status_code == 202, applied.text
    token = portal_token(email)
    return token.split(".")[0], token


def events_about(deps: Dependencies, event_type: str, applicant_id: str) -> list[dict[str, Any]]:
    query = {"type": "outbox_event", "event.type": event_type, "event.data.applicant_id": applicant_id}
    return [document["event"]["data"] for document in deps.store.items.find(query)]


def reasons(hiring: Hiring, org: str | None = None) -> dict[str, str]:
    """The org's reasons, label -> id, in their order."""
    listed = hiring.recruiter.get(f"/orgs/{org or hiring.org}/rejection-reasons")
    assert listed.status_code == 200, listed.text
    return {r["label"]: r["id"] for r in listed.json()["rejection_reasons"]}


def reject(hiring: Hiring, applicant_id: str, reason_id: str, **more: Any) -> Any:
    body = {"reason_id": reason_id, **more}
    return hiring.recruiter.post(f"/orgs/{hiring.org}/applicants/{applicant_id}/reject", json=body)


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    return str(response.json()["error"]["message"])


def listed(hiring: Hiring, query: str = "") -> list[str]:
    page = hiring.recruiter.get(f"/orgs/{hiring.org}/applications/{hiring.app}/applicants{query}")
    assert page.status_code == 200, page.text
    return [a["id"] for a in page.json()["applicants"]]


def test_every_org_has_the_default_reasons_once_even_when_first_read_twice_at_once(
    stack: RunningStack,
) -> None:
    recruiter = sign_in(stack.base_url, unique_email("first"))
    org = unique_org_id("fresh")
    assert recruiter.post("/orgs", json={"id": org, "display_name": "Fresh"}).status_code == 201
    readers = [Api(stack.base_url, recruiter.token) for _ in range(4)]
    with ThreadPoolExecutor(len(readers)) as pool:
        answers = list(pool.map(lambda api: api.get(f"/orgs/{org}/rejection-reasons"), readers))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    again = recruiter.get(f"/orgs/{org}/rejection-reasons").json()["rejection_reasons"]
    assert [r["label"] for r in again] == list(DEFAULT_REJECTION_REASONS)
    assert len({r["id"] for r in again}) == len(DEFAULT_REJECTION_REASONS)

    # A deleted default stays deleted: the defaults are made once.
    assert recruiter.delete(f"/orgs/{org}/rejection-reasons/{again[0]['id']}").status_code == 204
    after = recruiter.get(f"/orgs/{org}/rejection-reasons").json()["rejection_reasons"]
    assert [r["label"] for r in after] == list(DEFAULT_REJECTION_REASONS[1:])


def test_reasons_are_managed_with_unique_labels_and_a_limit(hiring: Hiring) -> None:
    base = f"/orgs/{hiring.org}/rejection-reasons"
    recruiter = hiring.recruiter
    created = recruiter.post(base, json={"label": "  Failed background check "})
    assert created.status_code == 201, created.text
    reason = created.json()
    assert reason["label"] == "Failed background check" and reason["id"].startswith("rjr_")
    error(recruiter.post(base, json={"label": "failed BACKGROUND check"}), 409, "rejection_reason_exists")
    error(recruiter.patch(f"{base}/{reason['id']}", json={"label": "Other"}), 409, "rejection_reason_exists")
    renamed = recruiter.patch(f"{base}/{reason['id']}", json={"label": "No licence"})
    assert renamed.status_code == 200 and renamed.json()["label"] == "No licence"
    assert reasons(hiring)["No licence"] == reason["id"]
    assert recruiter.post(base, json={"label": "bad\nlabel"}).status_code == 422

    for number in range(MAX_REJECTION_REASONS - len(reasons(hiring))):
        assert recruiter.post(base, json={"label": f"Reason {number}"}).status_code == 201
    message = error(recruiter.post(base, json={"label": "One too many"}), 409, "too_many_rejection_reasons")
    assert str(MAX_REJECTION_REASONS) in message
    assert recruiter.delete(f"{base}/{reason['id']}").status_code == 204
    error(recruiter.delete(f"{base}/{reason['id']}"), 404, "rejection_reason_not_found")
    assert recruiter.post(base, json={"label": "One too many"}).status_code == 201


def test_another_orgs_reason_is_unknown_here(stack: RunningStack, hiring: Hiring) -> None:
    other = unique_org_id("other")
    assert hiring.recruiter.post("/orgs", json={"id": other, "display_name": "Other"}).status_code == 201
    foreign = reasons(hiring, other)["Not qualified"]
    applicant, _ = apply(stack, hiring, "Ann")
    error(reject(hiring, applicant, foreign), 400, "invalid_rejection_reason")
    base = f"/orgs/{hiring.org}/rejection-reasons/{foreign}"
    error(hiring.recruiter.patch(base, json={"label": "Taken over"}), 404, "rejection_reason_not_found")
    error(hiring.recruiter.delete(base), 404, "rejection_reason_not_found")
    assert reasons(hiring, other)["Not qualified"] == foreign
    assert hiring.recruiter.get(f"/orgs/{hiring.org}/applicants/{applicant}").json()["status"] == "active"


def test_reject_reopen_accept_and_withdraw(
    stack: RunningStack, hiring: Hiring, clock: FixedClock, deps: Dependencies
) -> None:
    recruiter, org = hiring.recruiter, hiring.org
    ann, ann_token = apply(stack, hiring, "Ann")
    ben, _ = apply(stack, hiring, "Ben")
    dee, dee_token = apply(stack, hiring, "Dee")
    by_label = reasons(hiring)

    # Ann is rejected with a reason and a note, and no email: her status, history and event say so.
    note = "No licence yet.\nTry next year"
    rejected = reject(hiring, ann, by_label["Not qualified"], note=note, send_email=False)
    assert rejected.status_code == 200, rejected.text
    view = rejected.json()
    assert view["status"] == "rejected" and view["idle_deadline"] is None
    [decision] = view["decisions"]
    assert decision["action"] == "reject" and (decision["from_status"], decision["to_status"]) == (
        "active",
        "rejected",
    )
    assert decision["by"] == {"kind": "user", "id": hiring.recruiter_id}
    assert decision["reason_id"] == by_label["Not qualified"] and decision["reason_label"] == "Not qualified"
    assert (
        decision["note"] == "No licence yet.\nTry next year"
        and decision["stage_id"] == hiring.stages["Screen"]
    )
    assert decision["at"].startswith(clock.now().isoformat()[:19])
    assert events_about(deps, "applicant.rejected", ann) == [
        {
            "applicant_id": ann,
            "application_id": hiring.app,
            "stage_id": hiring.stages["Screen"],
            "reason_id": by_label["Not qualified"],
            "by": {"kind": "user", "id": hiring.recruiter_id},
            "send_email": False,
        }
    ]
    # A stale second rejection (another recruiter's old page) is refused and changes nothing.
    stale = reject(hiring, ann, by_label["Other"])
    assert "rejected" in error(stale, 409, "applicant_not_active")
    assert len(recruiter.get(f"/orgs/{org}/applicants/{ann}").json()["decisions"]) == 1
    assert len(events_about(deps, "applicant.rejected", ann)) == 1

    # The lists: active by default; a filter shows the others.
    assert ann not in listed(hiring) and {ben, dee} <= set(listed(hiring))
    assert listed(hiring, "?status=rejected") == [ann]
    assert set(listed(hiring, "?status=all")) == {ann, ben, dee}
    assert listed(hiring, f"?status=rejected&stage={hiring.stages['Screen']}") == [ann]
    assert listed(hiring, f"?status=rejected&stage={hiring.stages['Review']}") == []
    summary = recruiter.get(f"/orgs/{org}/applications/{hiring.app}/applicants?status=rejected").json()
    assert summary["applicants"][0]["status"] == "rejected"
    assert recruiter.get(f"/orgs/{org}/applications/{hiring.app}/applicants?status=hired").status_code == 422

    # Ann's portal shows the outcome, without the recruiter's note or the reason; her answers are not
    # taken and move nothing; a recruiter cannot move her either.
    public = Api(stack.base_url)
    portal = public.get(f"/public/applicants/{ann_token}")
    assert portal.json()["status"] == "rejected"
    assert "Try next year" not in portal.text and "Not qualified" not in portal.text
    answered = public.post(
        f"/public/applicants/{ann_token}/answers", json={"answers": {hiring.licence: True}}
    )
    error(answered, 409, "applicant_not_active")
    move = {"from_stage_id": hiring.stages["Screen"], "to_stage_id": hiring.stages["Review"]}
    assert "reopen" in error(
        recruiter.post(f"/orgs/{org}/applicants/{ann}/move", json=move), 409, "applicant_not_active"
    )
    ann_view = recruiter.get(f"/orgs/{org}/applicants/{ann}").json()
    assert ann_view["stage_id"] == hiring.stages["Screen"] and ann_view["answers"] == {}
    assert events_about(deps, "applicant.moved", ann) == []

    # A stale deadline left on a rejected applicant (say, restored from a backup) moves nobody: the
    # sweeper forgets it. Ben, active and idle, is moved as the rule says.
    def stale_deadline(current: Any) -> Any:
        return current.model_copy(update={"idle_deadline": clock.now(), "idle_rule_id": "rul_stale"})

    assert update_applicant(deps, org, ann, stale_deadline) is not None
    clock.advance(timedelta(days=1, minutes=1))
    swept = invoke("scheduled.idle_sweeper", schedule_event())
    assert swept["skipped"] >= 1 and swept["moved"] >= 1
    ann_view = recruiter.get(f"/orgs/{org}/applicants/{ann}").json()
    assert ann_view["stage_id"] == hiring.stages["Screen"] and ann_view["idle_deadline"] is None
    ben_view = recruiter.get(f"/orgs/{org}/applicants/{ben}").json()
    assert ben_view["stage_id"] == hiring.stages["Review"]
    assert [e["by"]["kind"] for e in events_about(deps, "applicant.moved", ben)] == ["sweeper"]
    assert events_about(deps, "applicant.moved", ben)[0]["send_email"] is True

    # Deleting the reason Ann was rejected with keeps her history readable.
    assert recruiter.delete(f"/orgs/{org}/rejection-reasons/{by_label['Not qualified']}").status_code == 204
    kept = recruiter.get(f"/orgs/{org}/applicants/{ann}").json()["decisions"][0]
    assert kept["reason_label"] == "Not qualified"

    # Reopening: active again, with the stage's idle deadline counted from now; twice is a 409.
    reopened = recruiter.post(f"/orgs/{org}/applicants/{ann}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "active"
    assert reopened.json()["idle_deadline"].startswith((clock.now() + timedelta(days=1)).isoformat()[:19])
    assert [d["action"] for d in reopened.json()["decisions"]] == ["reject", "reopen"]
    assert "active" in error(
        recruiter.post(f"/orgs/{org}/applicants/{ann}/reopen"), 409, "applicant_not_reopenable"
    )
    assert events_about(deps, "applicant.reopened", ann) == [
        {
            "applicant_id": ann,
            "application_id": hiring.app,
            "stage_id": hiring.stages["Screen"],
            "by": {"kind": "user", "id": hiring.recruiter_id},
        }
    ]
    # Active again, her answer counts and the rule moves her.
    answered = public.post(
        f"/public/applicants/{ann_token}/answers", json={"answers": {hiring.licence: True}}
    )
    assert answered.status_code == 200 and answered.json()["stage"]["name"] == "Review"
    assert [e["send_email"] for e in events_about(deps, "applicant.moved", ann)] == [True]

    # The final decision for Ben (moved by hand first, with no email for that move).
    to_final = {
        "from_stage_id": hiring.stages["Review"],
        "to_stage_id": hiring.stages["Final"],
        "send_email": False,
    }
    assert recruiter.post(f"/orgs/{org}/applicants/{ben}/move", json=to_final).status_code == 200
    assert [e["send_email"] for e in events_about(deps, "applicant.moved", ben)] == [True, False]
    accepted = recruiter.post(f"/orgs/{org}/applicants/{ben}/accept", json={"note": "Starts Monday"})
    assert accepted.status_code == 200, accepted.text
    assert (
        accepted.json()["status"] == "accepted"
        and accepted.json()["decisions"][-1]["note"] == "Starts Monday"
    )
    assert len(events_about(deps, "applicant.accepted", ben)) == 1
    assert "accepted" in error(
        recruiter.post(f"/orgs/{org}/applicants/{ben}/accept", json={}), 409, "applicant_not_active"
    )
    assert listed(hiring, "?status=accepted") == [ben] and ben not in listed(hiring)

    # Dee withdraws from her portal: final for recruiters, and shown to her.
    withdrawn = public.post(f"/public/applicants/{dee_token}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert public.get(f"/public/applicants/{dee_token}").json()["status"] == "withdrawn"
    error(public.post(f"/public/applicants/{dee_token}/withdraw"), 409, "applicant_not_withdrawable")
    error(recruiter.post(f"/orgs/{org}/applicants/{dee}/reopen"), 409, "applicant_not_reopenable")
    dee_view = recruiter.get(f"/orgs/{org}/applicants/{dee}").json()
    assert dee_view["decisions"][0]["by"] == {"kind": "applicant", "id": None}
    assert dee_view["idle_deadline"] is None
    assert events_about(deps, "applicant.withdrawn", dee)[0]["by"] == {"kind": "applicant", "id": None}
    error(
        public.post(f"/public/applicants/{ann_token.split('.')[0]}.wrong/withdraw"), 404, "portal_not_found"
    )
    assert listed(hiring, "?status=withdrawn") == [dee]
    assert listed(hiring) == [ann]


def test_renaming_a_reason_keeps_the_label_decisions_were_made_with(
    stack: RunningStack, hiring: Hiring
) -> None:
    cid, _ = apply(stack, hiring, "Cid")
    reason = reasons(hiring)["Position filled"]
    assert reject(hiring, cid, reason).status_code == 200
    renamed = hiring.recruiter.patch(
        f"/orgs/{hiring.org}/rejection-reasons/{reason}", json={"label": "Filled"}
    )
    assert renamed.status_code == 200
    decision = hiring.recruiter.get(f"/orgs/{hiring.org}/applicants/{cid}").json()["decisions"][0]
    assert (decision["reason_id"], decision["reason_label"]) == (reason, "Position filled")


def test_deleting_a_stage_moves_decided_applicants_too_and_keeps_their_status(
    stack: RunningStack, hiring: Hiring
) -> None:
    cid, _ = apply(stack, hiring, "Cid")
    eve, _ = apply(stack, hiring, "Eve")
    reason = reasons(hiring)["No response"]
    assert reject(hiring, cid, reason).status_code == 200
    screen = f"/orgs/{hiring.org}/applications/{hiring.app}/stages/{hiring.stages['Screen']}"
    deleted = hiring.recruiter.delete(f"{screen}?move_applicants_to={hiring.stages['Final']}")
    assert deleted.status_code == 200, deleted.text
    cid_view = hiring.recruiter.get(f"/orgs/{hiring.org}/applicants/{cid}").json()
    assert (cid_view["stage_id"], cid_view["status"], cid_view["idle_deadline"]) == (
        hiring.stages["Final"],
        "rejected",
        None,
    )
    eve_view = hiring.recruiter.get(f"/orgs/{hiring.org}/applicants/{eve}").json()
    assert (eve_view["stage_id"], eve_view["status"]) == (hiring.stages["Final"], "active")
