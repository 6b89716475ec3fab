"""The signed-in person's pending invitations, with accept and decline. The invite email links here;
without a session the person signs in first and comes back."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import Conflict, Gone
from plutomi.services import invites
from plutomi.services.auth import Principal
from plutomi.web import pages
from plutomi.web.refusal import status_of

router = pages.Router()
INVITATIONS = "/invitations"


def _invitations(me: Principal, status: int = HTTPStatus.OK, **context: Any) -> Response[str]:
    deps = dependencies()
    pending = invites.list_my_invites(deps, me)
    return pages.recruiter_page(
        router,
        "invitations.html",
        me=me,
        status=status,
        invites=pending,
        inviters=invites.inviter_emails(deps, pending),
        **context,
    )


@router.get(INVITATIONS)
def my_invitations() -> Response[str]:
    return _invitations(pages.signed_in(router))


@router.post(f"{INVITATIONS}/<invite_id>/accept")
def accept(invite_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        membership = invites.accept_invite(dependencies(), me, invite_id)
    except (Gone, Conflict) as error:
        return _invitations(me, status_of(error), notice=error.message)
    return pages.redirect(f"/app/{membership.org_id}", router=router)


@router.post(f"{INVITATIONS}/<invite_id>/decline")
def decline(invite_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        invites.decline_invite(dependencies(), me, invite_id)
    except (Gone, Conflict) as error:
        return _invitations(me, status_of(error), notice=error.message)
    return pages.redirect(INVITATIONS, router=router)


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
