"""The team page: members and their roles, invites, and leaving the organisation. The role rules are
the services'; a refusal (403, 409) is shown on the page."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import Conflict, Forbidden, InvalidFields, InvalidInput, PlutomiError
from plutomi.domain.models import Role
from plutomi.entrypoints import schemas
from plutomi.services import invites, members
from plutomi.services.auth import Principal
from plutomi.web import pages
from plutomi.web.refusal import status_of

router = pages.Router()
ROLES = [(role.value, role.value.capitalize()) for role in Role]


def _team(
    org_id: str, status: int = HTTPStatus.OK, me: Principal | None = None, **context: Any
) -> Response[str]:
    me = me or pages.signed_in(router)
    deps = dependencies()
    return pages.recruiter_page(
        router,
        "team.html",
        org_id=org_id,
        section="team",
        status=status,
        me=me,
        members=members.list_members(deps, me, org_id),
        invites=invites.list_org_invites(deps, me, org_id),
        roles=ROLES,
        **context,
    )


def _refused(org_id: str, error: PlutomiError) -> Response[str]:
    """The team page again with the service's message at the top."""
    return _team(org_id, status_of(error), notice=error.message)


@router.get("/app/<org_id>/team")
def team(org_id: str) -> Response[str]:
    return _team(org_id)


@router.post("/app/<org_id>/team/invites")
def invite(org_id: str) -> Response[str]:
    me = pages.signed_in(router)
    form = pages.form(router)
    values = form.first_values()
    try:
        body = pages.parse(
            schemas.CreateInvite, {"email": form.get("email").strip(), "role": form.get("role")}
        )
        invites.create_invite(dependencies(), me, org_id, body.email, body.role, body.expires_in_days)
    except InvalidFields as error:
        return _team(org_id, HTTPStatus.UNPROCESSABLE_ENTITY, me, errors=error.fields, values=values)
    except (InvalidInput, Forbidden, Conflict) as error:
        field = "role" if isinstance(error, Forbidden) else "email"
        return _team(org_id, status_of(error), me, errors={field: error.message}, values=values)
    return pages.redirect(f"/app/{org_id}/team", router=router)


@router.post("/app/<org_id>/team/invites/<invite_id>/revoke")
def revoke(org_id: str, invite_id: str) -> Response[str]:
    try:
        invites.cancel_invite(dependencies(), pages.signed_in(router), org_id, invite_id)
    except (Forbidden, Conflict) as error:
        return _refused(org_id, error)
    return pages.redirect(f"/app/{org_id}/team", router=router)


@router.post("/app/<org_id>/team/members/<user_id>/role")
def change_role(org_id: str, user_id: str) -> Response[str]:
    try:
        body = pages.parse(schemas.ChangeRole, {"role": pages.form(router).get("role")})
        members.change_role(dependencies(), pages.signed_in(router), org_id, user_id, body.role)
    except (InvalidInput, Forbidden, Conflict) as error:
        return _refused(org_id, error)
    return pages.redirect(f"/app/{org_id}/team", router=router)


@router.post("/app/<org_id>/team/members/<user_id>/remove")
def remove(org_id: str, user_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        members.remove_member(dependencies(), me, org_id, user_id)
    except (Forbidden, Conflict) as error:
        return _refused(org_id, error)
    return pages.redirect(pages.HOME if user_id == me.user.id else f"/app/{org_id}/team", router=router)


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
