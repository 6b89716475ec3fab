"""Applicants and their journey through an application's stages. Pure."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from plutomi.domain.models import OrgItem
from plutomi.domain.pipeline import Stage, idle_deadline

MoverKind = Literal["applicant", "user", "rule", "sweeper"]


class Mover(BaseModel):
    """Who moved someone: the applicant applying, a recruiter, an answer rule, or the idle sweeper."""

    model_config = ConfigDict(frozen=True)
    kind: MoverKind
    id: str | None = None


class StageVisit(BaseModel):
    model_config = ConfigDict(frozen=True)
    stage_id: str
    entered_at: datetime
    entered_by: Mover
    exited_at: datetime | None = None
    exited_by: Mover | None = None


class ApplicantStatus(StrEnum):
    """Where an applicant stands besides their stage; `accepted` is the final positive decision."""

    ACTIVE = "active"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ACCEPTED = "accepted"


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
    idle_deadline: datetime | None = None
    idle_rule_id: str | None = None
    portal_secret_hashes: list[str] = Field(default_factory=list)  # the live portal links' hashes
    deleted_at: datetime | None = None
    version: int = 0
    status: ApplicantStatus = ApplicantStatus.ACTIVE

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def entering(stage: Stage, now: datetime, by: Mover) -> dict[str, Any]:
    """The fields that change when an applicant enters `stage` now (the caller closes the old visit)."""
    deadline = idle_deadline(stage, now)
    return {
        "stage_id": stage.id,
        "stage_entered_at": now,
        "idle_deadline": deadline[0] if deadline else None,
        "idle_rule_id": deadline[1].id if deadline else None,
    }


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
