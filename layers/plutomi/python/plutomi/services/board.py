"""The pipeline board: an application's stages in order, each with its counts by status and the first
page of its applicants; and rebuilding the stage counters (`plutomi recount`).

The counts come from the stage counters the store keeps as applicants are written
(`adapters/mongo_stage_counts.py`), never from counting applicants: a board costs the same for an
application of ten thousand applicants as for one of two hundred thousand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plutomi.domain.applicants import StageTally
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.pipeline import Application, Stage
from plutomi.services.applicants import Page, page_of_application
from plutomi.services.auth import Principal
from plutomi.services.designs import load_application, ordered_stages
from plutomi.services.orgs import require_membership
from plutomi.services.ports import Dependencies


@dataclass(frozen=True)
class Column:
    stage: Stage
    counts: StageTally
    page: Page

    def count(self, status: ApplicantStatus) -> int:
        return self.counts.get(status, 0)


@dataclass(frozen=True)
class Board:
    application: Application
    columns: list[Column]
    status: ApplicantStatus
    newest_first: bool


def no_one() -> StageTally:
    return dict.fromkeys(ApplicantStatus, 0)


@dataclass(frozen=True)
class Listed:
    application: Application
    counts: StageTally


def applications_with_counts(deps: Dependencies, principal: Principal, org_id: str) -> list[Listed]:
    """The org's applications, newest first, each with its applicants by status."""
    require_membership(deps, principal, org_id)
    totals = deps.store.stage_counts.for_org(org_id)
    found = deps.store.applications.list_for_org(org_id)
    return [Listed(a, totals.get(a.id, no_one())) for a in reversed(found)]


def stage_counts(
    deps: Dependencies, principal: Principal, org_id: str, application_id: str
) -> dict[str, StageTally]:
    """Each stage's applicants by status (every stage of the application, zero where nobody is)."""
    require_membership(deps, principal, org_id)
    application = load_application(deps, org_id, application_id)
    kept = deps.store.stage_counts.for_application(org_id, application_id)
    return {stage_id: kept.get(stage_id, no_one()) for stage_id in application.stage_ids}


def board(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    status: ApplicantStatus,
    newest_first: bool,
    per_column: int,
) -> Board:
    require_membership(deps, principal, org_id)
    application = load_application(deps, org_id, application_id)
    kept = deps.store.stage_counts.for_application(org_id, application_id)
    columns = [
        Column(
            stage=stage,
            counts=kept.get(stage.id, no_one()),
            page=page_of_application(
                deps, org_id, application_id, stage.id, None, per_column, status, newest_first
            ),
        )
        for stage in ordered_stages(deps, application)
    ]
    return Board(application=application, columns=columns, status=status, newest_first=newest_first)


def recount(deps: Dependencies, org_id: str | None, say: Callable[[str], None]) -> int:
    """Rebuilds the stage counters of one org's applications, or of every org's, from the applicants
    themselves; returns how many applications it recounted. Counts written while it runs may be lost
    to it (it sets what it read): run it when the board's numbers are in doubt, not on every deploy."""
    applications = (
        deps.store.applications.list_for_org(org_id)
        if org_id is not None
        else deps.store.applications.every_org()
    )
    done = 0
    for application in applications:
        found = deps.store.applicants.places(application.org_id, application.id)
        deps.store.stage_counts.replace(application.org_id, application.id, application.stage_ids, found)
        say(f"{application.org_id}/{application.id}: {sum(found.values())} applicant(s) counted")
        done += 1
    return done
