"""Applications: what people apply to. Members read; admins and owners change them."""

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
from plutomi.services import applications

router = Router()
BASE = "/orgs/<org_id>/applications"


@router.post(BASE, status_code=HTTPStatus.CREATED, summary="Create an application (a draft)")
def create_application(org_id: str, body: schemas.CreateApplication) -> Response[schemas.ApplicationOut]:
    design = applications.create_application(
        dependencies(), principal(router), org_id, body.name, body.description
    )
    return json_response(HTTPStatus.CREATED, schemas.ApplicationOut.of(design))


@router.get(BASE, summary="The organisation's applications")
def list_applications(org_id: str) -> schemas.ApplicationList:
    found = applications.list_applications(dependencies(), principal(router), org_id)
    return schemas.ApplicationList(applications=[schemas.ApplicationSummary.of(a) for a in found])


@router.get(f"{BASE}/<application_id>", summary="An application with its stages in order")
def get_application(org_id: str, application_id: str) -> schemas.ApplicationOut:
    return schemas.ApplicationOut.of(
        applications.get_design(dependencies(), principal(router), org_id, application_id)
    )


@router.patch(f"{BASE}/<application_id>", summary="Rename, describe, open or close an application")
def update_application(
    org_id: str, application_id: str, body: schemas.UpdateApplication
) -> schemas.ApplicationOut:
    design = applications.update_application(
        dependencies(), principal(router), org_id, application_id, body.name, body.description, body.status
    )
    return schemas.ApplicationOut.of(design)


@router.delete(
    f"{BASE}/<application_id>",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Delete an application with no applicants",
)
def delete_application(org_id: str, application_id: str) -> Response[Any]:
    applications.delete_application(dependencies(), principal(router), org_id, application_id)
    return no_content()


app = create_resolver(router)
handler = lambda_handler(app)
