"""Changing one applicant safely, and moving applicants between stages.

Every change is a read-modify-write under the applicant's version, retried when someone else wrote
first; every move names the stage (and the moment) the applicant is leaving, so two movers —
recruiters, answer rules, sweepers — never both move the same person.
"""

from __future__ import annotations

from collections.abc import Callable

from plutomi.domain import events
from plutomi.domain.applicants import (
    NO_IDLE_DEADLINE,
    Applicant,
    entering,
    history_after_move,
    idle_fields,
)
from plutomi.domain.errors import Conflict, NotFound
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import Stage, is_complete
from plutomi.services.auth import Principal
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional

ATTEMPTS = 5


def load_applicant(deps: Dependencies, org_id: str, applicant_id: str) -> Applicant:
    applicant = deps.store.applicants.get(org_id, applicant_id)
    if applicant is None or applicant.is_deleted:
        raise NotFound("applicant_not_found", f"No applicant {applicant_id!r} in this organisation")
    return applicant


def update_applicant(
    deps: Dependencies, org_id: str, applicant_id: str, change: Callable[[Applicant], Applicant | None]
) -> Applicant | None:
    """Read-modify-write under the applicant's version, retried when someone else wrote first.
    `change` returns the new state, or None when its precondition no longer holds."""
    for _ in range(ATTEMPTS):
        current = deps.store.applicants.get(org_id, applicant_id)
        if current is None:
            return None
        changed = change(current)
        if changed is None:
            return None
        saved = deps.store.applicants.save(current, changed, deps.clock.now())
        if saved is not None:
            return saved
    raise Conflict("concurrent_change", "The applicant changed at the same moment; reload and try again")


@transactional
def move(
    deps: Dependencies,
    applicant: Applicant,
    source: Stage,
    target: Stage,
    by: Mover,
    still_applies: Callable[[Applicant], bool] = lambda _: True,
    send_email: bool = True,
) -> Applicant | None:
    """Moves the applicant from `source` to `target` if, when written, they are still in `source` and
    `still_applies` holds; None when someone else moved them first. Only an active applicant gets
    the target's idle deadline (a decided one moves only when their stage is deleted).
    `send_email` goes into the event: False when the recruiter asked for no email about this move."""

    def entered_target(current: Applicant) -> Applicant | None:
        if current.stage_id != source.id or not still_applies(current):
            return None
        now = deps.clock.now()
        entered = entering(target, now, by) | ({} if current.is_active else NO_IDLE_DEADLINE)
        return current.model_copy(
            update={**entered, "history": history_after_move(current.history, target.id, now, by)}
        )

    moved = update_applicant(deps, applicant.org_id, applicant.id, entered_target)
    if moved is not None:
        deps.emit(
            events.APPLICANT_MOVED,
            applicant.org_id,
            {
                "applicant_id": applicant.id,
                "application_id": applicant.application_id,
                "from_stage_id": source.id,
                "to_stage_id": target.id,
                "by": by.model_dump(),
                "send_email": send_email,
            },
        )
    return moved


def move_all_out_of_stage(deps: Dependencies, principal: Principal, source: Stage, target: Stage) -> int:
    mover = Mover(kind="user", id=principal.user.id)
    moved = 0
    for applicant in list(deps.store.applicants.in_stage(source.org_id, source.application_id, source.id)):
        if move(deps, applicant, source, target, mover) is not None:
            moved += 1
    if deps.store.applicants.any_in_stage(source.org_id, source.application_id, source.id):
        raise Conflict("stage_has_applicants", "Applicants entered the stage meanwhile; try again")
    return moved


def reschedule_idle_deadlines(deps: Dependencies, stage: Stage) -> None:
    """After a stage's idle rules changed: recompute the deadline of everyone waiting in it."""

    def reschedule(current: Applicant) -> Applicant | None:
        if (
            current.stage_id != stage.id
            or not current.is_active
            or current.stage_entered_at is None
            or is_complete(stage, current.answers)
        ):
            return None
        return current.model_copy(update=idle_fields(stage, current.stage_entered_at))

    for applicant in list(deps.store.applicants.in_stage(stage.org_id, stage.application_id, stage.id)):
        update_applicant(deps, stage.org_id, applicant.id, reschedule)
