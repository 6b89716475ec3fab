"""What the benches write straight into the store: applicants as `Applicants.create` stores them,
without the use case's per-applicant round trips, so seeding 200,000 takes seconds, not hours."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from plutomi.adapters.mongo_base import Document, to_document
from plutomi.adapters.mongo_pipeline import Applicants
from plutomi.domain.applicants import Applicant, StageVisit
from plutomi.domain.ids import format_id
from plutomi.domain.movers import Mover


def waiting_applicant(
    org_id: str,
    application_id: str,
    stage_id: str,
    number: int,
    entered_at: datetime,
    applicant_id: str | None = None,
    **fields: Any,
) -> Document:
    """Applicant `number`, waiting in `stage_id` since it applied at `entered_at` (its id sorts by that
    time unless one is given), with any other `fields` of `Applicant`."""
    applicant = Applicant(
        id=applicant_id or format_id("apl", int(entered_at.timestamp() * 1000), os.urandom(10)),
        org_id=org_id,
        application_id=application_id,
        email=f"applicant-{number}@example.com",
        first_name="Pat",
        last_name=f"Applicant {number}",
        created_at=entered_at,
        updated_at=entered_at,
        stage_id=stage_id,
        stage_entered_at=entered_at,
        history=[StageVisit(stage_id=stage_id, entered_at=entered_at, entered_by=Mover(kind="applicant"))],
        **fields,
    )
    return to_document(applicant, **Applicants.index_fields(applicant))
