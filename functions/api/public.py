"""What applicants see: open applications, applying, and their private portal. No sign-in."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import document_schemas
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.entrypoints import schemas as common
from plutomi.entrypoints.api import Router, client_address, create_resolver, json_response, lambda_handler
from plutomi.services import applicants, decisions, documents

router = Router()


@router.get("/public/orgs/<org_id>/applications", summary="The organisation's open applications")
def list_open_applications(org_id: str) -> schemas.PublicApplicationList:
    found = applicants.list_public_applications(dependencies(), org_id)
    return schemas.PublicApplicationList(applications=[schemas.PublicApplication.of(a) for a in found])


@router.get("/public/orgs/<org_id>/applications/<application_id>", summary="An open application")
def get_open_application(org_id: str, application_id: str) -> schemas.PublicApplication:
    application, _ = applicants.public_application(dependencies(), org_id, application_id)
    return schemas.PublicApplication.of(application)


@router.post(
    "/public/orgs/<org_id>/applications/<application_id>/applicants",
    status_code=HTTPStatus.ACCEPTED,
    summary="Apply; your private link arrives by email",
)
def apply(org_id: str, application_id: str, body: schemas.Apply) -> Response[common.Accepted]:
    applicants.apply(
        dependencies(),
        org_id,
        application_id,
        body.email,
        body.first_name,
        body.last_name,
        client=client_address(router),
    )
    message = "Thanks! Check your email for your private link to continue"
    return json_response(HTTPStatus.ACCEPTED, common.Accepted(message=message))


@router.get("/public/applicants/<token>", summary="Your application: the current stage and its questions")
def get_portal(token: str) -> schemas.PortalOut:
    return schemas.PortalOut.of(applicants.portal(dependencies(), token))


@router.post("/public/applicants/<token>/answers", summary="Answer the current stage's questions")
def submit_answers(token: str, body: schemas.Answers) -> schemas.PortalOut:
    return schemas.PortalOut.of(applicants.submit_answers(dependencies(), token, body.answers))


@router.post("/public/applicants/<token>/withdraw", summary="Withdraw your application")
def withdraw(token: str) -> schemas.PortalOut:
    return schemas.PortalOut.of(decisions.withdraw(dependencies(), token))


@router.post(
    "/public/applicants/<token>/uploads",
    status_code=HTTPStatus.CREATED,
    summary="Ask to upload a file for a file question: a form to POST the file to, straight to storage",
)
def request_upload(token: str, body: document_schemas.RequestUpload) -> Response[document_schemas.UploadOut]:
    ticket = documents.request_upload(
        dependencies(), token, body.question_id, body.file_name, body.content_type, body.size_bytes
    )
    return json_response(HTTPStatus.CREATED, document_schemas.UploadOut.of(ticket))


app = create_resolver(router)
handler = lambda_handler(app)
