"""Inviting people into an organisation, and answering invites."""

from __future__ import annotations

from datetime import timedelta

from plutomi.domain import events
from plutomi.domain.errors import Conflict, DuplicateItem, Forbidden, Gone, NotFound
from plutomi.domain.identity import can_grant, normalize_email
from plutomi.domain.models import Invite, InviteStatus, Membership, Role
from plutomi.services.auth import Principal
from plutomi.services.orgs import get_org, live_org, require_membership
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional


@transactional
def create_invite(
    deps: Dependencies, principal: Principal, org_id: str, raw_email: str, role: Role, expires_in_days: int
) -> Invite:
    caller = require_membership(deps, principal, org_id, Role.ADMIN)
    if not can_grant(caller.role, role):
        raise Forbidden("insufficient_role", f"A {caller.role.value} cannot invite someone as {role.value}")
    email = normalize_email(raw_email)
    existing_user = deps.store.users.get_by_email(email)
    if existing_user is not None and deps.store.memberships.get(org_id, existing_user.id) is not None:
        raise Conflict("already_member", f"{email} is already a member of this organisation")
    now = deps.clock.now()
    org = get_org(deps, principal, org_id).org
    invite = Invite(
        id=deps.clock.new_id("inv"),
        org_id=org_id,
        email=email,
        role=role,
        invited_by=principal.user.id,
        org_display_name=org.display_name,
        expires_at=now + timedelta(days=expires_in_days),
        created_at=now,
        updated_at=now,
    )
    deps.store.invites.expire_pending(org_id, email, now)
    try:
        deps.store.invites.create(invite)
    except DuplicateItem as error:
        raise Conflict(
            "invite_pending", f"{email} already has a pending invite; cancel it to send a new one"
        ) from error
    deps.emit(
        events.INVITE_CREATED,
        org_id,
        {
            "invite_id": invite.id,
            "email": email,
            "role": role.value,
            "org_display_name": org.display_name,
            "inviter_email": principal.user.email,
            "expires_at": invite.expires_at.isoformat(),
        },
    )
    return invite


def list_org_invites(deps: Dependencies, principal: Principal, org_id: str) -> list[Invite]:
    require_membership(deps, principal, org_id)
    return deps.store.invites.list_for_org(org_id)


@transactional
def cancel_invite(deps: Dependencies, principal: Principal, org_id: str, invite_id: str) -> None:
    require_membership(deps, principal, org_id, Role.ADMIN)
    invite = deps.store.invites.get(org_id, invite_id)
    if invite is None:
        raise NotFound("invite_not_found", f"No invite {invite_id!r} in this organisation")
    if deps.store.invites.respond(org_id, invite_id, InviteStatus.CANCELED, deps.clock.now()) is None:
        raise Conflict("invite_not_pending", f"The invite was already {invite.status.value}")
    deps.emit(
        events.INVITE_CANCELED,
        org_id,
        {"invite_id": invite_id, "email": invite.email, "by": principal.user.id},
    )


def list_my_invites(deps: Dependencies, principal: Principal) -> list[Invite]:
    """Pending invites to the caller; those from an org that is being deleted are gone already."""
    invites = deps.store.invites.list_pending_for_email(principal.user.email, deps.clock.now())
    live = {org_id for org_id in {i.org_id for i in invites} if live_org(deps, org_id) is not None}
    return [invite for invite in invites if invite.org_id in live]


def inviter_emails(deps: Dependencies, invites: list[Invite]) -> dict[str, str]:
    """Who sent each invite, by user id: the email of each inviter who still has an account."""
    found = {user_id: deps.store.users.get(user_id) for user_id in {i.invited_by for i in invites}}
    return {user_id: user.email for user_id, user in found.items() if user is not None}


@transactional
def accept_invite(deps: Dependencies, principal: Principal, invite_id: str) -> Membership:
    invite = _answerable(deps, principal, invite_id)
    now = deps.clock.now()
    if deps.store.invites.respond(invite.org_id, invite.id, InviteStatus.ACCEPTED, now) is None:
        raise Conflict("invite_not_pending", "This invite was answered or canceled meanwhile")
    membership = Membership(
        id=deps.clock.new_id("mem"),
        org_id=invite.org_id,
        user_id=principal.user.id,
        email=principal.user.email,
        role=invite.role,
        created_at=now,
        updated_at=now,
    )
    try:
        deps.store.memberships.create(membership)
    except DuplicateItem:  # already a member (joined another way): the invite is simply used up
        existing = deps.store.memberships.get(invite.org_id, principal.user.id)
        assert existing is not None
        membership = existing
    deps.emit(
        events.INVITE_ACCEPTED,
        invite.org_id,
        {"invite_id": invite.id, "user_id": principal.user.id, "role": membership.role.value},
    )
    return membership


@transactional
def decline_invite(deps: Dependencies, principal: Principal, invite_id: str) -> None:
    invite = _answerable(deps, principal, invite_id)
    if deps.store.invites.respond(invite.org_id, invite.id, InviteStatus.DECLINED, deps.clock.now()) is None:
        raise Conflict("invite_not_pending", "This invite was answered or canceled meanwhile")
    deps.emit(events.INVITE_DECLINED, invite.org_id, {"invite_id": invite.id, "user_id": principal.user.id})


def _answerable(deps: Dependencies, principal: Principal, invite_id: str) -> Invite:
    invite = deps.store.invites.get_for_email(principal.user.email, invite_id)
    if invite is None or live_org(deps, invite.org_id) is None:
        raise NotFound("invite_not_found", f"No invite {invite_id!r} for {principal.user.email}")
    if invite.status is not InviteStatus.PENDING:
        raise Conflict("invite_not_pending", f"This invite was already {invite.status.value}")
    if invite.is_expired(deps.clock.now()):
        raise Gone("invite_expired", "This invite has expired; ask the organisation for a new one")
    return invite
