"""Who belongs to an organisation, and with which role. An org never loses its last owner."""

from __future__ import annotations

from plutomi.domain import events
from plutomi.domain.errors import Conflict, Forbidden, NotFound
from plutomi.domain.models import Membership, Role
from plutomi.services.auth import Principal
from plutomi.services.orgs import require_membership
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional


def list_members(deps: Dependencies, principal: Principal, org_id: str) -> list[Membership]:
    require_membership(deps, principal, org_id)
    return deps.store.memberships.list_for_org(org_id)


@transactional
def change_role(
    deps: Dependencies, principal: Principal, org_id: str, user_id: str, role: Role
) -> Membership:
    require_membership(deps, principal, org_id, Role.OWNER)
    target = _member(deps, org_id, user_id)
    if target.role is Role.OWNER and role is not Role.OWNER:
        _refuse_if_last_owner(deps, org_id)
    updated = deps.store.memberships.set_role(org_id, user_id, role, deps.clock.now())
    if updated is None:
        raise NotFound("member_not_found", f"No member {user_id!r} in this organisation")
    deps.emit(
        events.MEMBER_ROLE_CHANGED,
        org_id,
        {"user_id": user_id, "from": target.role.value, "to": role.value, "by": principal.user.id},
    )
    return updated


@transactional
def remove_member(deps: Dependencies, principal: Principal, org_id: str, user_id: str) -> None:
    leaving = user_id == principal.user.id
    caller = require_membership(deps, principal, org_id, Role.MEMBER if leaving else Role.ADMIN)
    target = _member(deps, org_id, user_id)
    if target.role is Role.OWNER:
        if not leaving and caller.role is not Role.OWNER:
            raise Forbidden("insufficient_role", "Only an owner can remove an owner")
        _refuse_if_last_owner(deps, org_id)
    if not deps.store.memberships.delete(org_id, user_id):
        raise NotFound("member_not_found", f"No member {user_id!r} in this organisation")
    deps.emit(events.MEMBER_REMOVED, org_id, {"user_id": user_id, "by": principal.user.id})


def _member(deps: Dependencies, org_id: str, user_id: str) -> Membership:
    membership = deps.store.memberships.get(org_id, user_id)
    if membership is None:
        raise NotFound("member_not_found", f"No member {user_id!r} in this organisation")
    return membership


def _refuse_if_last_owner(deps: Dependencies, org_id: str) -> None:
    owners = [m for m in deps.store.memberships.list_for_org(org_id) if m.role is Role.OWNER]
    if len(owners) <= 1:
        raise Conflict(
            "last_owner", "An organisation needs at least one owner; make someone else owner first"
        )
