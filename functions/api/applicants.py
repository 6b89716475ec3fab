"""Applicants, as recruiters see them: lists, details with history, moves and erasure."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.entrypoints.api import Router, create_resolver, lambda_handler, no_content, principal
from plutomi.services import applicants

router = Router()


@router.get("/orgs/<org_id>/applications/<application_id>/applicants", summary="Applicants, a page at a time")
def list_applicants(
    org_id: str,
    application_id: str,
    stage: Annotated[str | None, Query(description="only this stage")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> schemas.ApplicantPage:
    page = applicants.list_applicants(
        dependencies(), principal(router), org_id, application_id, stage, cursor, limit
    )
    return schemas.ApplicantPage.of(page)


@router.get("/orgs/<org_id>/applicants/<applicant_id>", summary="An applicant with answers and stage history")
def get_applicant(org_id: str, applicant_id: str) -> schemas.ApplicantOut:
    return schemas.ApplicantOut.of(
        applicants.get_applicant(dependencies(), principal(router), org_id, applicant_id)
    )


@router.post(
    "/orgs/<org_id>/applicants/<applicant_id>/move", summary="Move an applicant from a stage to another"
)
def move_applicant(org_id: str, applicant_id: str, body: schemas.MoveApplicant) -> schemas.ApplicantOut:
    moved = applicants.move_applicant(
        dependencies(), principal(router), org_id, applicant_id, body.from_stage_id, body.to_stage_id
    )
    return schemas.ApplicantOut.of(moved)


@router.delete(
    "/orgs/<org_id>/applicants/<applicant_id>",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Erase an applicant's data; an anonymous history stays",
)
def delete_applicant(org_id: str, applicant_id: str) -> Response[Any]:
    applicants.delete_applicant(dependencies(), principal(router), org_id, applicant_id)
    return no_content()


app = create_resolver(router)
handler = lambda_handler(app)
