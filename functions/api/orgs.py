"""Organisations."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import schemas
from plutomi.entrypoints.api import (
    Router,
    create_resolver,
    json_response,
    lambda_handler,
    no_content,
    principal,
)
from plutomi.services import orgs

router = Router()


@router.post("/orgs", status_code=HTTPStatus.CREATED, summary="Create an organisation; you become its owner")
def create_org(body: schemas.CreateOrg) -> Response[schemas.OrgOut]:
    view = orgs.create_org(dependencies(), principal(router), body.id, body.display_name)
    return json_response(HTTPStatus.CREATED, schemas.OrgOut.of(view))


@router.get("/orgs", summary="The organisations I belong to")
def list_orgs() -> schemas.OrgList:
    return schemas.OrgList(
        orgs=[schemas.OrgOut.of(v) for v in orgs.list_my_orgs(dependencies(), principal(router))]
    )


@router.get("/orgs/<org_id>", summary="One of my organisations")
def get_org(org_id: str) -> schemas.OrgOut:
    return schemas.OrgOut.of(orgs.get_org(dependencies(), principal(router), org_id))


@router.patch("/orgs/<org_id>", summary="Rename an organisation (admins and owners)")
def update_org(org_id: str, body: schemas.UpdateOrg) -> schemas.OrgOut:
    return schemas.OrgOut.of(orgs.update_org(dependencies(), principal(router), org_id, body.display_name))


@router.delete(
    "/orgs/<org_id>",
    status_code=HTTPStatus.NO_CONTENT,
    summary="Delete an organisation (owner; no other members)",
)
def delete_org(org_id: str) -> Response[Any]:
    orgs.delete_org(dependencies(), principal(router), org_id)
    return no_content()


app = create_resolver(router)
handler = lambda_handler(app)
