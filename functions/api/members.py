"""Members of an organisation."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import schemas
from plutomi.entrypoints.api import Router, create_resolver, lambda_handler, no_content, principal
from plutomi.services import members

router = Router()


@router.get("/orgs/<org_id>/members", summary="Members and their roles")
def list_members(org_id: str) -> schemas.MemberList:
    found = members.list_members(dependencies(), principal(router), org_id)
    return schemas.MemberList(members=[schemas.MemberOut.of(m) for m in found])


@router.patch("/orgs/<org_id>/members/<user_id>", summary="Change a member's role (owners)")
def change_role(org_id: str, user_id: str, body: schemas.ChangeRole) -> schemas.MemberOut:
    return schemas.MemberOut.of(
        members.change_role(dependencies(), principal(router), org_id, user_id, body.role)
    )


@router.delete(
    "/orgs/<org_id>/members/<user_id>", status_code=HTTPStatus.NO_CONTENT, summary="Remove a member, or leave"
)
def remove_member(org_id: str, user_id: str) -> Response[Any]:
    members.remove_member(dependencies(), principal(router), org_id, user_id)
    return no_content()


app = create_resolver(router)
handler = lambda_handler(app)
