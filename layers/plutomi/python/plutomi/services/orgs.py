"""Organisations: create, read, rename, delete; and the membership check every org route makes."""

from __future__ import annotations

from dataclasses import dataclass

from plutomi.adapters.mongo_base import DuplicateItem
from plutomi.domain import events
from plutomi.domain.errors import Conflict, NotFound
from plutomi.domain.identity import require_role, validate_org_id
from plutomi.domain.models import Membership, Org, Role
from plutomi.services.auth import Principal
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional


@dataclass(frozen=True)
class OrgView:
    org: Org
    role: Role


def require_membership(
    deps: Dependencies, principal: Principal, org_id: str, role: Role = Role.MEMBER
) -> Membership:
    """The caller's membership of the org. Not a member: 404, as if the org did not exist."""
    membership = deps.store.memberships.get(org_id, principal.user.id)
    if membership is None:
        raise NotFound("org_not_found", f"No organisation {org_id!r} among yours")
    require_role(membership.role, role)
    return membership


@transactional
def create_org(deps: Dependencies, principal: Principal, org_id: str, display_name: str) -> OrgView:
    validate_org_id(org_id)
    now = deps.clock.now()
    org = Org(
        id=f"org_{org_id}",
        org_id=org_id,
        display_name=display_name.strip(),
        created_by=principal.user.id,
        created_at=now,
        updated_at=now,
    )
    try:
        deps.store.orgs.create(org)
    except DuplicateItem as error:
        raise Conflict("org_id_taken", f"The organisation id {org_id!r} is taken; choose another") from error
    deps.store.memberships.create(
        Membership(
            id=deps.clock.new_id("mem"),
            org_id=org_id,
            user_id=principal.user.id,
            email=principal.user.email,
            role=Role.OWNER,
            created_at=now,
            updated_at=now,
        )
    )
    deps.emit(
        events.ORG_CREATED,
        org_id,
        {"org_id": org_id, "display_name": org.display_name, "by": principal.user.id},
    )
    return OrgView(org=org, role=Role.OWNER)


def list_my_orgs(deps: Dependencies, principal: Principal) -> list[OrgView]:
    views = []
    for membership in deps.store.memberships.list_for_user(principal.user.id):
        org = deps.store.orgs.get(membership.org_id)
        if org is not None:
            views.append(OrgView(org=org, role=membership.role))
    return views


def get_org(deps: Dependencies, principal: Principal, org_id: str) -> OrgView:
    membership = require_membership(deps, principal, org_id)
    return OrgView(org=_load(deps, org_id), role=membership.role)


@transactional
def update_org(deps: Dependencies, principal: Principal, org_id: str, display_name: str) -> OrgView:
    membership = require_membership(deps, principal, org_id, Role.ADMIN)
    org = deps.store.orgs.update(org_id, deps.clock.now(), display_name=display_name.strip())
    if org is None:
        raise NotFound("org_not_found", f"No organisation {org_id!r} among yours")
    deps.emit(
        events.ORG_UPDATED,
        org_id,
        {"org_id": org_id, "display_name": org.display_name, "by": principal.user.id},
    )
    return OrgView(org=org, role=membership.role)


@transactional
def delete_org(deps: Dependencies, principal: Principal, org_id: str) -> None:
    require_membership(deps, principal, org_id, Role.OWNER)
    others = [m for m in deps.store.memberships.list_for_org(org_id) if m.user_id != principal.user.id]
    if others:
        raise Conflict(
            "org_has_members",
            f"Remove the other {len(others)} member(s) before deleting the organisation",
        )
    deps.store.invites.delete_all_for_org(org_id)
    # Its webhooks go too: an org created later under the same id must not inherit them.
    deps.store.webhooks.delete_all_for_org(org_id)
    deps.store.deliveries.delete_all_for_org(org_id)
    deps.store.memberships.delete(org_id, principal.user.id)
    deps.store.orgs.delete(org_id)
    deps.emit(events.ORG_DELETED, org_id, {"org_id": org_id, "by": principal.user.id})


def _load(deps: Dependencies, org_id: str) -> Org:
    org = deps.store.orgs.get(org_id)
    if org is None:
        raise NotFound("org_not_found", f"No organisation {org_id!r} among yours")
    return org
