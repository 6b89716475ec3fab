"""Applicants and their journey through an application's stages. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from plutomi.domain.decisions import ApplicantStatus, DecisionAction
from plutomi.domain.models import OrgItem
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import Stage, idle_deadline


class StageVisit(BaseModel):
    model_config = ConfigDict(frozen=True)
    stage_id: str
    entered_at: datetime
    entered_by: Mover
    exited_at: datetime | None = None
    exited_by: Mover | None = None


class Decision(BaseModel):
    """One decision in the applicant's history: who decided what, when, in which stage and why. The
    reason's label is copied as it read then; the note is for recruiters only (never in events or the
    applicant's portal)."""

    model_config = ConfigDict(frozen=True)
    action: DecisionAction
    from_status: ApplicantStatus
    to_status: ApplicantStatus
    stage_id: str | None
    reason_id: str | None = None
    reason_label: str | None = None
    note: str = ""
    by: Mover
    at: datetime


class Applicant(OrgItem):
    TYPE = "applicant"
    application_id: str
    email: str | None
    first_name: str
    last_name: str
    stage_id: str | None
    stage_entered_at: datetime | None
    answers: dict[str, Any] = Field(default_factory=dict)
    history: list[StageVisit] = Field(default_factory=list)
    status: ApplicantStatus = ApplicantStatus.ACTIVE  # absent in documents from before decisions
    decisions: list[Decision] = Field(default_factory=list)
    idle_deadline: datetime | None = None
    idle_rule_id: str | None = None
    portal_secret_hashes: list[str] = Field(default_factory=list)  # the live portal links' hashes
    deleted_at: datetime | None = None
    version: int = 0

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_active(self) -> bool:
        """Still in the process: rules, the idle sweeper and recruiters' moves only touch these."""
        return self.status is ApplicantStatus.ACTIVE


def entering(stage: Stage, now: datetime, by: Mover) -> dict[str, Any]:
    """The fields that change when an applicant enters `stage` now (the caller closes the old visit)."""
    return {"stage_id": stage.id, "stage_entered_at": now, **idle_fields(stage, now)}


def idle_fields(stage: Stage, since: datetime) -> dict[str, Any]:
    """The idle deadline (and its rule) of waiting in `stage` from `since`: the first idle rule's."""
    deadline = idle_deadline(stage, since)
    return {
        "idle_deadline": deadline[0] if deadline else None,
        "idle_rule_id": deadline[1].id if deadline else None,
    }


NO_IDLE_DEADLINE: dict[str, Any] = {"idle_deadline": None, "idle_rule_id": None}


def history_after_move(
    history: list[StageVisit], to_stage_id: str, now: datetime, by: Mover
) -> list[StageVisit]:
    return [
        *history_closed(history, now, by),
        StageVisit(stage_id=to_stage_id, entered_at=now, entered_by=by),
    ]


def history_closed(history: list[StageVisit], now: datetime, by: Mover) -> list[StageVisit]:
    return [
        visit.model_copy(update={"exited_at": now, "exited_by": by}) if visit.exited_at is None else visit
        for visit in history
    ]


class Place(NamedTuple):
    """Where an applicant counts on the board: their application, stage and status."""

    org_id: str
    application_id: str
    stage_id: str
    status: ApplicantStatus


StageTally = dict[ApplicantStatus, int]  # a stage's applicants by status


def counted_place(applicant: Applicant) -> Place | None:
    """Where the applicant counts on the board; nowhere once erased."""
    if applicant.is_deleted or applicant.stage_id is None:
        return None
    return Place(applicant.org_id, applicant.application_id, applicant.stage_id, applicant.status)
