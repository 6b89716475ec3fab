"""Invites: sent by an organisation, answered by the person invited."""

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
from plutomi.services import invites

router = Router()


@router.post(
    "/orgs/<org_id>/invites", status_code=HTTPStatus.CREATED, summary="Invite someone (admins and owners)"
)
def create_invite(org_id: str, body: schemas.CreateInvite) -> Response[schemas.InviteOut]:
    invite = invites.create_invite(
        dependencies(), principal(router), org_id, body.email, body.role, body.expires_in_days
    )
    return json_response(HTTPStatus.CREATED, schemas.InviteOut.of(invite))


@router.get("/orgs/<org_id>/invites", summary="Pending invites of an organisation")
def list_org_invites(org_id: str) -> schemas.InviteList:
    found = invites.list_org_invites(dependencies(), principal(router), org_id)
    return schemas.InviteList(invites=[schemas.InviteOut.of(i) for i in found])


@router.delete(
    "/orgs/<org_id>/invites/<invite_id>", status_code=HTTPStatus.NO_CONTENT, summary="Cancel a pending invite"
)
def cancel_invite(org_id: str, invite_id: str) -> Response[Any]:
    invites.cancel_invite(dependencies(), principal(router), org_id, invite_id)
    return no_content()


@router.get("/invites", summary="Invites waiting for me")
def list_my_invites() -> schemas.InviteList:
    found = invites.list_my_invites(dependencies(), principal(router))
    return schemas.InviteList(invites=[schemas.InviteOut.of(i) for i in found])


@router.post("/invites/<invite_id>/accept", summary="Accept an invite and join the organisation")
def accept_invite(invite_id: str) -> schemas.MemberOut:
    return schemas.MemberOut.of(invites.accept_invite(dependencies(), principal(router), invite_id))


@router.post("/invites/<invite_id>/decline", status_code=HTTPStatus.NO_CONTENT, summary="Decline an invite")
def decline_invite(invite_id: str) -> Response[Any]:
    invites.decline_invite(dependencies(), principal(router), invite_id)
    return no_content()


app = create_resolver(router)
handler = lambda_handler(app)
