"""Deciding about an applicant: recruiters reject (with one of the org's reasons), reopen and accept
(the final decision); the applicant withdraws from their portal.

Each decision is one guarded transition (`domain.decisions.TRANSITIONS`): written under the
applicant's version, refused with a 409 naming the current status when the applicant is no longer
in a status it may follow (a stale page, two recruiters at once), recorded in the applicant's
history with who and when, and announced by its event. A decided applicant has no idle deadline, so
the sweeper never sees them; reopening gives them the deadline of their stage again, counted from
the moment they are reopened.
"""

from __future__ import annotations

from typing import Any

from plutomi.domain import events
from plutomi.domain.applicants import NO_IDLE_DEADLINE, Applicant, Decision, idle_fields
from plutomi.domain.decisions import ApplicantStatus, DecisionAction, RejectionReason, decide
from plutomi.domain.errors import NotFound
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import is_complete
from plutomi.services.auth import Principal
from plutomi.services.moves import load_applicant, update_applicant
from plutomi.services.orgs import require_membership
from plutomi.services.portals import Portal, applicant_from_token, portal_of
from plutomi.services.ports import Dependencies
from plutomi.services.rejection_reasons import reason_for_rejection
from plutomi.services.unit_of_work import transactional

EVENT_OF = {
    DecisionAction.REJECT: events.APPLICANT_REJECTED,
    DecisionAction.REOPEN: events.APPLICANT_REOPENED,
    DecisionAction.ACCEPT: events.APPLICANT_ACCEPTED,
    DecisionAction.WITHDRAW: events.APPLICANT_WITHDRAWN,
}


def reject(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    applicant_id: str,
    reason_id: str,
    note: str = "",
    send_email: bool = True,
) -> Applicant:
    require_membership(deps, principal, org_id)
    applicant = load_applicant(deps, org_id, applicant_id)  # a 404 before any other complaint
    reason = reason_for_rejection(deps, org_id, reason_id)
    by = Mover(kind="user", id=principal.user.id)
    return _decide(
        deps, applicant, DecisionAction.REJECT, by, note=note, reason=reason, send_email=send_email
    )


def reopen(deps: Dependencies, principal: Principal, org_id: str, applicant_id: str) -> Applicant:
    require_membership(deps, principal, org_id)
    by = Mover(kind="user", id=principal.user.id)
    return _decide(deps, load_applicant(deps, org_id, applicant_id), DecisionAction.REOPEN, by)


def accept(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    applicant_id: str,
    note: str = "",
) -> Applicant:
    """The final decision. It sends no email of its own: an offer or an admission is usually made in
    person; moving the applicant into a stage with an entry email (say, Ready to Drive) sends one."""
    require_membership(deps, principal, org_id)
    by = Mover(kind="user", id=principal.user.id)
    return _decide(deps, load_applicant(deps, org_id, applicant_id), DecisionAction.ACCEPT, by, note=note)


def withdraw(deps: Dependencies, token: str) -> Portal:
    """The applicant withdraws, with their portal link; the portal then shows `withdrawn`."""
    applicant = applicant_from_token(deps, token)
    withdrawn = _decide(deps, applicant, DecisionAction.WITHDRAW, Mover(kind="applicant"))
    return portal_of(deps, withdrawn)


@transactional
def _decide(
    deps: Dependencies,
    applicant: Applicant,
    action: DecisionAction,
    by: Mover,
    *,
    note: str = "",
    reason: RejectionReason | None = None,
    send_email: bool | None = None,
) -> Applicant:
    """Applies `action` to the applicant as they are when written (`applicant` as read before: it names
    the org, the applicant and their stage). `send_email` None: no email can follow this decision, so
    its event says nothing about one."""
    org_id, applicant_id = applicant.org_id, applicant.id
    stage = (
        deps.store.stages.get(org_id, applicant.application_id, applicant.stage_id)
        if applicant.stage_id
        else None
    )

    def decided(current: Applicant) -> Applicant | None:
        if current.is_deleted:
            return None
        to_status = decide(action, current.status)
        now = deps.clock.now()
        decision = Decision(
            action=action,
            from_status=current.status,
            to_status=to_status,
            stage_id=current.stage_id,
            reason_id=reason.id if reason else None,
            reason_label=reason.label if reason else None,
            note=note,
            by=by,
            at=now,
        )
        waits = (
            to_status is ApplicantStatus.ACTIVE
            and stage is not None
            and stage.id == current.stage_id
            and not is_complete(stage, current.answers)
        )
        deadline = idle_fields(stage, now) if waits and stage is not None else NO_IDLE_DEADLINE
        return current.model_copy(
            update={"status": to_status, "decisions": [*current.decisions, decision], **deadline}
        )

    updated = update_applicant(deps, org_id, applicant_id, decided)
    if updated is None:
        raise NotFound("applicant_not_found", f"No applicant {applicant_id!r} in this organisation")
    data: dict[str, Any] = {
        "applicant_id": updated.id,
        "application_id": updated.application_id,
        "stage_id": updated.stage_id,
        "by": by.model_dump(),
    }
    if reason is not None:
        data["reason_id"] = reason.id
    if send_email is not None:
        data["send_email"] = send_email
    deps.emit(EVENT_OF[action], org_id, data)
    return updated
