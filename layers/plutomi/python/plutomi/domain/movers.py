"""Who moved an applicant, kept apart from the applicant models: events name the actor too, and a
function that only emits events need not load the pipeline's models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

MoverKind = Literal["applicant", "user", "rule", "sweeper"]


class Mover(BaseModel):
    """Who moved someone: the applicant applying, a recruiter, an answer rule, or the idle sweeper."""

    model_config = ConfigDict(frozen=True)
    kind: MoverKind
    id: str | None = None
