"""Organisations: create, read, rename, delete; the membership check every org route makes; and the
live-org check every other reader of an org's data makes (applicants, the public, consumers).

Deleting an org makes its tombstone and emits `org.deleted`; the purge (`services.org_purge`) removes
its data in the background. From the tombstone on, the org is gone for every reader at once, because
they all ask `live_org` (directly or through `require_membership`), and the store's ordinary org
reads never return a tombstone. Its id is taken until the purge has finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from plutomi.domain import events
from plutomi.domain.errors import Conflict, DuplicateItem, NotFound
from plutomi.domain.events import Event
from plutomi.domain.identity import require_role, validate_org_id
from plutomi.domain.models import Membership, Org, Role
from plutomi.services.auth import Principal
from plutomi.services.org_purge import GRACE
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional


@dataclass(frozen=True)
class OrgView:
    org: Org
    role: Role


def live_org(deps: Dependencies, org_id: str) -> Org | None:
    """The org, unless it does not exist or is being deleted. The one question every path that serves
    an org's data asks first, whoever the reader: members, applicants, the public, consumers."""
    return deps.store.orgs.get(org_id)


def require_live_org(deps: Dependencies, org_id: str, missing: NotFound) -> Org:
    """The live org, or `missing` raised: each caller answers as it would for a thing that never was."""
    org = live_org(deps, org_id)
    if org is None:
        raise missing
    return org


def is_current(deps: Dependencies, event: Event) -> bool:
    """Whether a consumer should act on this org event: its org is live, and the event is not from an
    earlier org that had the same id (deleted, purged, and the id taken again). No email, no webhook,
    no portal link for anything else."""
    if event.org_id is None:
        return True
    org = live_org(deps, event.org_id)
    return org is not None and _aware(event.occurred_at) >= _aware(org.created_at)


def require_membership(
    deps: Dependencies, principal: Principal, org_id: str, role: Role = Role.MEMBER
) -> Membership:
    """The caller's membership of a live org. Not a member, or the org is being deleted: 404, as if
    the org did not exist."""
    membership = deps.store.memberships.get(org_id, principal.user.id)
    if membership is None or live_org(deps, org_id) is None:
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
        if deps.store.orgs.get_tombstone(org_id) is not None:
            raise Conflict(
                "org_being_deleted",
                f"The organisation {org_id!r} was deleted and its data is still being removed; its id "
                f"is free again once that has finished, usually {_minutes(GRACE) + 1} to "
                f"{_minutes(GRACE) + 5} minutes after the deletion. Try again then, or choose another id",
            ) from error
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
        org = live_org(deps, membership.org_id)
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
    """Makes the org's tombstone (from now on it is gone for every reader) and emits `org.deleted`;
    its data is purged in the background (`services.org_purge`), so a large org never holds up the
    request. Its id stays taken until the purge has finished."""
    require_membership(deps, principal, org_id, Role.OWNER)
    others = [m for m in deps.store.memberships.list_for_org(org_id) if m.user_id != principal.user.id]
    if others:
        raise Conflict(
            "org_has_members",
            f"Remove the other {len(others)} member(s) before deleting the organisation",
        )
    now = deps.clock.now()
    org = _load(deps, org_id)
    deleted = org.model_copy(update={"deleted_at": now, "deleted_by": principal.user.id, "updated_at": now})
    if not deps.store.orgs.tombstone(deleted):  # deleted by someone else at the same moment
        raise NotFound("org_not_found", f"No organisation {org_id!r} among yours")
    deps.emit(events.ORG_DELETED, org_id, {"org_id": org_id, "by": principal.user.id})


def _minutes(period: timedelta) -> int:
    return int(period.total_seconds() // 60)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _load(deps: Dependencies, org_id: str) -> Org:
    org = deps.store.orgs.get(org_id)
    if org is None:
        raise NotFound("org_not_found", f"No organisation {org_id!r} among yours")
    return org
