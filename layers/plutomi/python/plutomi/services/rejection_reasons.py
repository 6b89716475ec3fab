"""An org's rejection reasons: every org has the defaults without doing anything (created on the
first read), members read them, admins and owners add, rename and delete them.

Deleting a reason never changes the history: each decision copied the label it had then."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from plutomi.domain import events
from plutomi.domain.decisions import DEFAULT_REJECTION_REASONS, MAX_REJECTION_REASONS, RejectionReason
from plutomi.domain.errors import Conflict, DuplicateItem, InvalidInput, NotFound
from plutomi.domain.models import Role
from plutomi.services.auth import Principal
from plutomi.services.orgs import require_membership
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import retrying, transactional


def list_reasons(deps: Dependencies, principal: Principal, org_id: str) -> list[RejectionReason]:
    require_membership(deps, principal, org_id)
    return reasons_of(deps, org_id)


def reasons_of(deps: Dependencies, org_id: str) -> list[RejectionReason]:
    """The org's reasons in the order they were added, the defaults first."""
    _seed_defaults(deps, org_id)
    return deps.store.rejection_reasons.list_for_org(org_id)


def _seed_defaults(deps: Dependencies, org_id: str) -> None:
    """Creates the default reasons once per org. Two first reads at once create each default once:
    labels are unique per org, so the slower insert collides and is dropped. Once marked, deleted
    defaults stay deleted. Never inside a transaction (a collision would abort it on MongoDB)."""
    if deps.store.rejection_reasons.seeded(org_id):
        return
    now = deps.clock.now()
    for position, label in enumerate(DEFAULT_REJECTION_REASONS):
        at = now + timedelta(milliseconds=position)  # the stored order is the order above
        reason = RejectionReason(
            id=deps.clock.new_id("rjr"), org_id=org_id, label=label, created_at=at, updated_at=at
        )
        # DuplicateItem: created by a read at the same moment, or added by the org before the defaults.
        with contextlib.suppress(DuplicateItem):
            deps.store.rejection_reasons.create(reason)
    deps.store.rejection_reasons.mark_seeded(org_id, now)


def reason_for_rejection(deps: Dependencies, org_id: str, reason_id: str) -> RejectionReason:
    """The reason a rejection names: one of this org's (another org's id is as unknown as none). No
    seeding here: a reason's id is only known from a read of the list, which seeded the defaults."""
    reason = deps.store.rejection_reasons.get(org_id, reason_id)
    if reason is None:
        raise InvalidInput(
            "invalid_rejection_reason",
            f"No rejection reason {reason_id!r} in this organisation; GET .../rejection-reasons lists them",
        )
    return reason


def _load(deps: Dependencies, org_id: str, reason_id: str) -> RejectionReason:
    reason = deps.store.rejection_reasons.get(org_id, reason_id)
    if reason is None:
        raise NotFound(
            "rejection_reason_not_found", f"No rejection reason {reason_id!r} in this organisation"
        )
    return reason


def _label_taken(label: str) -> Conflict:
    return Conflict("rejection_reason_exists", f"The organisation already has a reason {label!r}")


def create_reason(deps: Dependencies, principal: Principal, org_id: str, label: str) -> RejectionReason:
    require_membership(deps, principal, org_id, Role.ADMIN)
    _seed_defaults(deps, org_id)  # outside the transaction: its collisions are expected
    return _create_reason(deps, principal, org_id, label)


@transactional
def _create_reason(deps: Dependencies, principal: Principal, org_id: str, label: str) -> RejectionReason:
    if (
        deps.store.rejection_reasons.count_for_org(org_id, up_to=MAX_REJECTION_REASONS)
        >= MAX_REJECTION_REASONS
    ):
        raise Conflict(
            "too_many_rejection_reasons",
            f"An organisation has at most {MAX_REJECTION_REASONS} rejection reasons; delete one",
        )
    now = deps.clock.now()
    reason = RejectionReason(
        id=deps.clock.new_id("rjr"), org_id=org_id, label=label, created_at=now, updated_at=now
    )
    try:
        deps.store.rejection_reasons.create(reason)
    except DuplicateItem:
        raise _label_taken(label) from None
    deps.emit(events.REJECTION_REASON_CREATED, org_id, {"reason_id": reason.id, "by": principal.user.id})
    return reason


@transactional
def update_reason(
    deps: Dependencies, principal: Principal, org_id: str, reason_id: str, label: str
) -> RejectionReason:
    """Renames a reason. Decisions made with it keep the label they were made with."""
    require_membership(deps, principal, org_id, Role.ADMIN)

    def rename() -> RejectionReason | None:
        before = _load(deps, org_id, reason_id)
        if before.label == label:
            return before
        try:
            return deps.store.rejection_reasons.update(
                before, before.model_copy(update={"label": label}), deps.clock.now()
            )
        except DuplicateItem:
            raise _label_taken(label) from None

    renamed = retrying(rename)
    deps.emit(events.REJECTION_REASON_UPDATED, org_id, {"reason_id": reason_id, "by": principal.user.id})
    return renamed


@transactional
def delete_reason(deps: Dependencies, principal: Principal, org_id: str, reason_id: str) -> None:
    require_membership(deps, principal, org_id, Role.ADMIN)
    _load(deps, org_id, reason_id)
    if deps.store.rejection_reasons.delete(org_id, reason_id):
        deps.emit(events.REJECTION_REASON_DELETED, org_id, {"reason_id": reason_id, "by": principal.user.id})
