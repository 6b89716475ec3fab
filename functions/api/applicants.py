"""Applicants, as recruiters see them: lists, details with history, moves, decisions and erasure."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from plutomi.bootstrap import dependencies
from plutomi.domain.decisions import ApplicantStatus
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.entrypoints.api import Router, create_resolver, lambda_handler, no_content, principal
from plutomi.services import applicants, decisions

router = Router()
APPLICANT = "/orgs/<org_id>/applicants/<applicant_id>"
StatusFilter = Literal["active", "rejected", "withdrawn", "accepted", "all"]


@router.get("/orgs/<org_id>/applications/<application_id>/applicants", summary="Applicants, a page at a time")
def list_applicants(
    org_id: str,
    application_id: str,
    stage: Annotated[str | None, Query(description="only this stage")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    status: Annotated[StatusFilter, Query(description="only applicants with this status")] = "active",
    order: Annotated[Literal["oldest", "newest"], Query(description="by when they applied")] = "oldest",
) -> schemas.ApplicantPage:
    wanted = None if status == "all" else ApplicantStatus(status)
    page = applicants.list_applicants(
        dependencies(),
        principal(router),
        org_id,
        application_id,
        stage,
        cursor,
        limit,
        wanted,
        newest_first=order == "newest",
    )
    return schemas.ApplicantPage.of(page)


@router.get(APPLICANT, summary="An applicant with answers, stage history and decisions")
def get_applicant(org_id: str, applicant_id: str) -> schemas.ApplicantOut:
    return schemas.ApplicantOut.of(
        applicants.get_applicant(dependencies(), principal(router), org_id, applicant_id)
    )


@router.post(f"{APPLICANT}/move", summary="Move an active applicant from a stage to another")
def move_applicant(org_id: str, applicant_id: str, body: schemas.MoveApplicant) -> schemas.ApplicantOut:
    moved = applicants.move_applicant(
        dependencies(),
        principal(router),
        org_id,
        applicant_id,
        body.from_stage_id,
        body.to_stage_id,
        body.send_email,
    )
    return schemas.ApplicantOut.of(moved)


@router.post(f"{APPLICANT}/reject", summary="Reject an active applicant with one of the org's reasons")
def reject_applicant(org_id: str, applicant_id: str, body: schemas.RejectApplicant) -> schemas.ApplicantOut:
    rejected = decisions.reject(
        dependencies(), principal(router), org_id, applicant_id, body.reason_id, body.note, body.send_email
    )
    return schemas.ApplicantOut.of(rejected)


@router.post(f"{APPLICANT}/reopen", summary="Take back a rejection or an acceptance")
def reopen_applicant(org_id: str, applicant_id: str) -> schemas.ApplicantOut:
    return schemas.ApplicantOut.of(decisions.reopen(dependencies(), principal(router), org_id, applicant_id))


@router.post(f"{APPLICANT}/accept", summary="The final decision: accept (hire, admit) an active applicant")
def accept_applicant(org_id: str, applicant_id: str, body: schemas.AcceptApplicant) -> schemas.ApplicantOut:
    accepted = decisions.accept(dependencies(), principal(router), org_id, applicant_id, body.note)
    return schemas.ApplicantOut.of(accepted)


@router.delete(
    APPLICANT,
    status_code=HTTPStatus.NO_CONTENT,
    summary="Erase an applicant's data; an anonymous history stays",
)
def delete_applicant(org_id: str, applicant_id: str) -> Response[Any]:
    applicants.delete_applicant(dependencies(), principal(router), org_id, applicant_id)
    return no_content()


app = create_resolver(router)
handler = lambda_handler(app)
