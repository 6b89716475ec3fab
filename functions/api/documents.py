"""Applicants' documents, as recruiters see them: the list, one document's details and scan status, and
opening it through a short-lived link."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import document_schemas as schemas
from plutomi.entrypoints.api import Router, create_resolver, lambda_handler, principal
from plutomi.services import documents

router = Router()


@router.get("/orgs/<org_id>/applicants/<applicant_id>/documents", summary="An applicant's documents")
def list_documents(org_id: str, applicant_id: str) -> schemas.DocumentList:
    found = documents.list_documents(dependencies(), principal(router), org_id, applicant_id)
    return schemas.DocumentList(documents=[schemas.DocumentOut.of(d) for d in found])


@router.get("/orgs/<org_id>/documents/<document_id>", summary="A document's details and scan status")
def get_document(org_id: str, document_id: str) -> schemas.DocumentOut:
    return schemas.DocumentOut.of(
        documents.get_document(dependencies(), principal(router), org_id, document_id)
    )


@router.get(
    "/orgs/<org_id>/documents/<document_id>/open",
    status_code=HTTPStatus.FOUND,
    summary="Open a document: a redirect to a link that works for 5 minutes",
    responses={302: {"description": "Location: the short-lived link (never stored, logged or sent on)"}},
)
def open_document(org_id: str, document_id: str) -> Response[Any]:
    link = documents.open_document(dependencies(), principal(router), org_id, document_id)
    return Response(
        status_code=HTTPStatus.FOUND,
        content_type=None,
        body=None,
        headers={"Location": link, "Cache-Control": "no-store"},
    )


app = create_resolver(router)
handler = lambda_handler(app)
