"""The board's stage counters: after every kind of write that puts an applicant in a stage or takes
them out (applying, recruiters' moves, the idle sweeper and its redelivery, a stale move, decisions,
withdrawing, erasing, deleting a stage with "move these to"), the counters equal a recount from the
applicants themselves; `plutomi recount` rebuilds counters that went wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.domain.applicants import Place, StageTally
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import ApplicationStatus, IdleRule
from plutomi.runtime.cli import main
from plutomi.services import applicants, applications, board, decisions, moves, orgs
from plutomi.services.ports import Dependencies
from plutomi.services.rejection_reasons import reasons_of
from tests.conftest import unique_client, unique_email, unique_org_id
from tests.integration.test_org_purge import person

A, R, W, H = (
    ApplicantStatus.ACTIVE,
    ApplicantStatus.REJECTED,
    ApplicantStatus.WITHDRAWN,
    ApplicantStatus.ACCEPTED,
)


def tally(active: int = 0, rejected: int = 0, withdrawn: int = 0, accepted: int = 0) -> StageTally:
    return {A: active, R: rejected, W: withdrawn, H: accepted}


def recounted(
    deps: Dependencies, org_id: str, application_id: str, stage_ids: list[str]
) -> dict[str, StageTally]:
    """What counting the applicants one by one gives (the same read `plutomi recount` uses)."""
    found = deps.store.applicants.places(org_id, application_id)
    return {
        stage_id: {
            status: found[Place(org_id, application_id, stage_id, status)] for status in ApplicantStatus
        }
        for stage_id in stage_ids
    }


def test_counters_follow_every_kind_of_change_and_equal_a_recount(clock: FixedClock) -> None:
    deps = bootstrap.dependencies()
    owner = person(deps, "counts")
    org_id = unique_org_id("counts")
    orgs.create_org(deps, owner, org_id, "Counted")
    application_id = applications.create_application(deps, owner, org_id, "Drivers", "").application.id
    for name in ("Applied", "Interview", "Final", "Spare"):
        design = applications.create_stage(deps, owner, org_id, application_id, name, None)
    applied, interview, final, spare = design.stages
    rule = IdleRule(id="x", to_stage_id=interview.id, after_minutes=5)
    applications.add_rule(deps, owner, org_id, application_id, applied.id, rule, None)
    applications.update_application(deps, owner, org_id, application_id, status=ApplicationStatus.OPEN)

    def counts() -> dict[str, StageTally]:
        return board.stage_counts(deps, owner, org_id, application_id)

    assert counts() == {stage.id: tally() for stage in design.stages}
    ids = []
    for number in range(8):
        email = unique_email(f"counted-{number}")
        applicants.apply(deps, org_id, application_id, email, "Pat", f"No {number}", unique_client())
        found = deps.store.applicants.get_by_email(org_id, application_id, email)
        assert found is not None
        ids.append(found.id)
    # Applying again sends the link again; nobody new is counted.
    again = deps.store.applicants.get(org_id, ids[0])
    assert again is not None and again.email is not None
    applicants.apply(deps, org_id, application_id, again.email, "Pat", "Again", unique_client())
    assert counts()[applied.id] == tally(active=8)

    stale = deps.store.applicants.get(org_id, ids[0])
    assert stale is not None
    applicants.move_applicant(deps, owner, org_id, ids[0], applied.id, final.id)
    applicants.move_applicant(deps, owner, org_id, ids[1], applied.id, spare.id)
    # A mover holding the old state (a redelivered event, a stale board) changes and counts nothing.
    assert moves.move(deps, stale, applied, interview, Mover(kind="rule")) is None
    reason = reasons_of(deps, org_id)[0]
    decisions.reject(deps, owner, org_id, ids[2], reason.id, send_email=False)
    decisions.accept(deps, owner, org_id, ids[3])
    decisions.reject(deps, owner, org_id, ids[4], reason.id, send_email=False)
    decisions.reopen(deps, owner, org_id, ids[4])
    link = applicants.issue_portal_link(deps, org_id, ids[5])
    assert link is not None
    decisions.withdraw(deps, link[2].rsplit("/", 1)[1])
    applicants.delete_applicant(deps, owner, org_id, ids[6])
    assert counts()[applied.id] == tally(active=2, rejected=1, withdrawn=1, accepted=1)

    # The idle sweeper moves the one still waiting in Applied (the reopened one has no deadline: the
    # stage asks nothing, so they wait for no one); run again (a redelivery), it moves no one.
    clock.advance(timedelta(minutes=6))
    applicants.sweep_idle(deps)
    applicants.sweep_idle(deps)
    # Deleting a stage moves its applicants out first.
    applications.delete_stage(deps, owner, org_id, application_id, spare.id, final.id)

    stage_ids = [applied.id, interview.id, final.id]
    expected = {
        applied.id: tally(active=1, rejected=1, withdrawn=1, accepted=1),
        interview.id: tally(active=1),
        final.id: tally(active=2),
    }
    assert counts() == expected
    assert recounted(deps, org_id, application_id, stage_ids) == expected
    assert deps.store.stage_counts.for_application(org_id, application_id).keys() == set(stage_ids)


def test_recount_rebuilds_counters_that_went_wrong(
    deps: Dependencies, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = person(deps, "recount")
    org_id = unique_org_id("recount")
    orgs.create_org(deps, owner, org_id, "Recounted")
    application_id = applications.create_application(deps, owner, org_id, "Drivers", "").application.id
    first = applications.create_stage(deps, owner, org_id, application_id, "Applied", None).stages[0]
    second = applications.create_stage(deps, owner, org_id, application_id, "Later", None).stages[1]
    applications.update_application(deps, owner, org_id, application_id, status=ApplicationStatus.OPEN)
    for number in range(3):
        applicants.apply(
            deps, org_id, application_id, unique_email(f"r{number}"), "Sam", "R", unique_client()
        )
    # A process that died between an applicant's write and its counter's, and a stage's counter lost.
    deps.store.items.update_one({"_id": {"$eq": f"stage_count:{first.id}"}}, {"$inc": {"active": 5}})
    deps.store.items.update_one(
        {"_id": {"$eq": f"stage_count:{second.id}"}},
        {
            "$set": {
                "type": "stage_count",
                "org_id": org_id,
                "application_id": application_id,
                "stage_id": second.id,
                "rejected": 2,
            }
        },
        upsert=True,
    )
    assert board.stage_counts(deps, owner, org_id, application_id)[first.id][A] == 8

    assert main(["recount", "--org", org_id]) == 0

    assert f"{org_id}/{application_id}: 3 applicant(s) counted" in capsys.readouterr().out
    assert board.stage_counts(deps, owner, org_id, application_id) == {
        first.id: tally(active=3),
        second.id: tally(),
    }


def test_pages_newest_first_walk_the_same_index_backwards(deps: Dependencies) -> None:
    owner = person(deps, "newest")
    org_id = unique_org_id("newest")
    orgs.create_org(deps, owner, org_id, "Newest")
    application_id = applications.create_application(deps, owner, org_id, "Drivers", "").application.id
    stage = applications.create_stage(deps, owner, org_id, application_id, "Applied", None).stages[0]
    applications.update_application(deps, owner, org_id, application_id, status=ApplicationStatus.OPEN)
    for number in range(5):
        applicants.apply(
            deps, org_id, application_id, unique_email(f"n{number}"), "N", str(number), unique_client()
        )
    oldest = applicants.list_applicants(deps, owner, org_id, application_id, stage.id, None, 10)
    ids = [a.id for a in oldest.applicants]
    assert len(ids) == 5 and ids == sorted(ids)

    def newest(cursor: str | None) -> applicants.Page:
        return applicants.list_applicants(
            deps, owner, org_id, application_id, stage.id, cursor, 2, newest_first=True
        )

    first = newest(None)
    second = newest(first.next_cursor)
    last = newest(second.next_cursor)
    walked = [a.id for page in (first, second, last) for a in page.applicants]
    assert walked == ids[::-1]
    assert last.next_cursor is None
