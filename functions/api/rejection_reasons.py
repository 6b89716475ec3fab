"""An org's rejection reasons. Members read (the defaults exist from the first read); admins and
owners add, rename and delete them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.entrypoints.api import (
    Router,
    create_resolver,
    json_response,
    lambda_handler,
    no_content,
    principal,
)
from plutomi.services import rejection_reasons

router = Router()
REASONS = "/orgs/<org_id>/rejection-reasons"
REASON = f"{REASONS}/<reason_id>"


@router.get(REASONS, summary="The organisation's rejection reasons (sensible defaults included)")
def list_reasons(org_id: str) -> schemas.RejectionReasonList:
    found = rejection_reasons.list_reasons(dependencies(), principal(router), org_id)
    return schemas.RejectionReasonList(rejection_reasons=[schemas.RejectionReasonOut.of(r) for r in found])


@router.post(REASONS, status_code=HTTPStatus.CREATED, summary="Add a rejection reason")
def create_reason(org_id: str, body: schemas.ReasonLabel) -> Response[schemas.RejectionReasonOut]:
    reason = rejection_reasons.create_reason(dependencies(), principal(router), org_id, body.label)
    return json_response(HTTPStatus.CREATED, schemas.RejectionReasonOut.of(reason))


@router.patch(REASON, summary="Rename a rejection reason; past decisions keep the old label")
def update_reason(org_id: str, reason_id: str, body: schemas.ReasonLabel) -> schemas.RejectionReasonOut:
    reason = rejection_reasons.update_reason(dependencies(), principal(router), org_id, reason_id, body.label)
    return schemas.RejectionReasonOut.of(reason)


@router.delete(
    REASON,
    status_code=HTTPStatus.NO_CONTENT,
    summary="Delete a rejection reason; past decisions keep its label",
)
def delete_reason(org_id: str, reason_id: str) -> Response[Any]:
    rejection_reasons.delete_reason(dependencies(), principal(router), org_id, reason_id)
    return no_content()


app = create_resolver(router)
handler = lambda_handler(app)
