"""Applicants: applying, the private portal, answers and the rules they trigger, recruiters' views
and moves, erasure, and the idle sweeper. How one applicant is changed and moved lives in `moves`."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plutomi.domain import events, limits
from plutomi.domain.applicants import (
    NO_IDLE_DEADLINE,
    Applicant,
    StageVisit,
    entering,
    history_closed,
)
from plutomi.domain.decisions import ApplicantStatus, closed_to_the_applicant, not_active
from plutomi.domain.errors import Conflict, DuplicateItem, InvalidFields, InvalidInput, NotFound
from plutomi.domain.identity import hash_secret, normalize_email
from plutomi.domain.links import portal_path
from plutomi.domain.models import Role
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import (
    Application,
    ApplicationStatus,
    IdleRule,
    Stage,
    answer_rule_target,
    is_complete,
    validate_answers,
)
from plutomi.services import documents, rate_limits
from plutomi.services.auth import Principal
from plutomi.services.designs import load_application, load_stage, ordered_stages
from plutomi.services.moves import load_applicant, move, update_applicant
from plutomi.services.orgs import live_org, require_live_org, require_membership
from plutomi.services.pagination import cursor_position, encode_cursor
from plutomi.services.portals import PORTAL_NOT_FOUND, Portal, applicant_from_token, portal_of
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional


@dataclass(frozen=True)
class Page:
    applicants: list[Applicant]
    next_cursor: str | None


# ---------------------------------------------------------------- public: applying and the portal


# Every public path (the listing, an application, applying, the portal, answers, the portal link the
# notifications consumer mints) first asks whether the org is live: a deleted org's applications,
# applicants and links are gone for everyone at once, long before its data is purged.


def public_application(
    deps: Dependencies, org_id: str, application_id: str
) -> tuple[Application, list[Stage]]:
    missing = NotFound("application_not_found", "No open application here")
    require_live_org(deps, org_id, missing)
    application = deps.store.applications.get(org_id, application_id)
    if application is None or application.status is not ApplicationStatus.OPEN:
        raise missing
    return application, ordered_stages(deps, application)


def list_public_applications(deps: Dependencies, org_id: str) -> list[Application]:
    if live_org(deps, org_id) is None:
        return []  # as for an org id nobody has
    return [a for a in deps.store.applications.list_for_org(org_id) if a.status is ApplicationStatus.OPEN]


def apply(
    deps: Dependencies,
    org_id: str,
    application_id: str,
    raw_email: str,
    first_name: str,
    last_name: str,
    client: str,
) -> None:
    """Puts a person in the first stage, or sends their link again; the answer is the same either way.
    From one client (an IP address) and for one address, applying is limited (429), and a person who
    applies again within minutes gets no second email (the link they have keeps working)."""
    rate_limits.count(deps, limits.APPLIES_PER_CLIENT, limits.client_key(client))
    email = normalize_email(raw_email)
    rate_limits.count(deps, limits.APPLIES_PER_ADDRESS, f"{application_id}:{email}")
    _apply(deps, org_id, application_id, email, first_name, last_name)


@transactional
def _apply(
    deps: Dependencies, org_id: str, application_id: str, email: str, first_name: str, last_name: str
) -> None:
    _, stages = public_application(deps, org_id, application_id)
    existing = deps.store.applicants.get_by_email(org_id, application_id, email)
    if existing is None:
        now = deps.clock.now()
        first = stages[0]
        mover = Mover(kind="applicant")
        applicant = Applicant(
            id=deps.clock.new_id("apl"),
            org_id=org_id,
            application_id=application_id,
            email=email,
            first_name=first_name,
            last_name=last_name,
            created_at=now,
            updated_at=now,
            history=[StageVisit(stage_id=first.id, entered_at=now, entered_by=mover)],
            **entering(first, now, mover),
        )
        try:
            deps.store.applicants.create(applicant)
        except DuplicateItem:  # the same person applied twice at once
            existing = deps.store.applicants.get_by_email(org_id, application_id, email)
        else:
            rate_limits.allows(deps, limits.PORTAL_EMAILS_PER_APPLICANT, applicant.id)  # the first email
            deps.emit(
                events.APPLICANT_CREATED,
                org_id,
                {"applicant_id": applicant.id, "application_id": application_id, "stage_id": first.id},
            )
            return
    assert existing is not None
    if not rate_limits.allows(deps, limits.PORTAL_EMAILS_PER_APPLICANT, existing.id):
        return  # a link went out minutes ago: no second email, however often the address is typed
    deps.emit(
        events.APPLICANT_LINK_REQUESTED,
        org_id,
        {"applicant_id": existing.id, "application_id": application_id},
    )


def issue_portal_link(
    deps: Dependencies, org_id: str, applicant_id: str
) -> tuple[Applicant, Application, str] | None:
    """Mints a new portal secret and returns the URL to email. The links sent before keep working
    (up to MAX_PORTAL_LINKS, the oldest stop first): typing someone's address again never cuts the
    link they have.

    Called by the notifications consumer: the secret never travels in an event."""
    if live_org(deps, org_id) is None:
        return None
    applicant = deps.store.applicants.get(org_id, applicant_id)
    if applicant is None or applicant.is_deleted:
        return None
    application = deps.store.applications.get(org_id, applicant.application_id)
    if application is None:
        return None
    secret = secrets.token_urlsafe(32)
    secret_hash = hash_secret(deps.settings.session_secret, "portal", applicant.id, secret)

    def add_link(current: Applicant) -> Applicant:
        kept = [*current.portal_secret_hashes, secret_hash][-limits.MAX_PORTAL_LINKS :]
        return current.model_copy(update={"portal_secret_hashes": kept})

    updated = update_applicant(deps, org_id, applicant_id, add_link)
    if updated is None:
        return None
    return updated, application, f"{deps.settings.base_url}{portal_path(f'{applicant.id}.{secret}')}"


def portal(deps: Dependencies, token: str) -> Portal:
    return portal_of(deps, applicant_from_token(deps, token))


def submit_answers(deps: Dependencies, token: str, submitted: dict[str, Any]) -> Portal:
    """Stores valid answers for the current stage; when it becomes complete, applies its answer rules
    at once, so the response already shows where the person is now. A file answer counts only once
    each upload it names passed its checks (`documents.confirm_uploads`)."""
    applicant = applicant_from_token(deps, token)
    if applicant.stage_id is None:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    if not applicant.is_active:
        raise closed_to_the_applicant(applicant.status, "answers")
    stage = load_stage(deps, applicant.org_id, applicant.application_id, applicant.stage_id)
    accepted, problems = validate_answers(stage, submitted)
    if not problems:
        problems = documents.confirm_uploads(deps, applicant, stage, accepted)
    if problems:
        summary = "; ".join(f"{name}: {message}" for name, message in problems.items())
        raise InvalidFields("invalid_answers", summary, problems)
    if not accepted:
        raise InvalidInput("no_answers", "Send at least one answer")
    return _record_answers(deps, applicant, stage, accepted)


@transactional
def _record_answers(
    deps: Dependencies, applicant: Applicant, stage: Stage, accepted: dict[str, Any]
) -> Portal:
    def record(current: Applicant) -> Applicant:
        if not current.is_active:
            raise closed_to_the_applicant(current.status, "answers")
        if current.stage_id != stage.id:
            raise Conflict(
                "stage_changed", "You were moved to another stage meanwhile; reload to see its questions"
            )
        answers = {**current.answers, **accepted}
        changes: dict[str, Any] = {"answers": answers}
        if is_complete(stage, answers):  # a completed stage is not idle any more
            changes |= NO_IDLE_DEADLINE
        return current.model_copy(update=changes)

    updated = update_applicant(deps, applicant.org_id, applicant.id, record)
    if updated is None:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    deps.emit(
        events.APPLICANT_ANSWERED,
        applicant.org_id,
        {
            "applicant_id": applicant.id,
            "application_id": applicant.application_id,
            "stage_id": stage.id,
            "question_ids": sorted(accepted),
            "completed": is_complete(stage, updated.answers),
        },
    )
    shown = updated
    rule = answer_rule_target(stage, updated.answers)
    if rule is not None:
        target = deps.store.stages.get(applicant.org_id, applicant.application_id, rule.to_stage_id)
        if target is not None:
            moved = move(deps, updated, stage, target, Mover(kind="rule", id=rule.id), _still_active)
            # Someone else moved them first: show where they are now.
            shown = moved or deps.store.applicants.get(applicant.org_id, applicant.id) or updated
    return portal_of(deps, shown)


def _still_active(applicant: Applicant) -> bool:
    return applicant.is_active


# ---------------------------------------------------------------- recruiters


def list_applicants(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str | None,
    cursor: str | None,
    limit: int,
    status: ApplicantStatus | None = ApplicantStatus.ACTIVE,
    newest_first: bool = False,
) -> Page:
    """A page of the application's applicants (of one stage, if given) with `status` (None: any),
    oldest application first unless `newest_first`."""
    require_membership(deps, principal, org_id)
    load_application(deps, org_id, application_id)
    return page_of_application(deps, org_id, application_id, stage_id, cursor, limit, status, newest_first)


def page_of_application(
    deps: Dependencies,
    org_id: str,
    application_id: str,
    stage_id: str | None,
    cursor: str | None,
    limit: int,
    status: ApplicantStatus | None,
    newest_first: bool,
) -> Page:
    """`list_applicants` once the caller checked the membership and the application (the board does
    once for all its columns)."""
    after = cursor_position(cursor, "apl_")
    found = deps.store.applicants.page(
        org_id, application_id, stage_id, after, limit + 1, status, newest_first=newest_first
    )
    more = len(found) > limit
    found = found[:limit]
    return Page(applicants=found, next_cursor=encode_cursor(found[-1].id) if more and found else None)


def get_applicant(deps: Dependencies, principal: Principal, org_id: str, applicant_id: str) -> Applicant:
    require_membership(deps, principal, org_id)
    return load_applicant(deps, org_id, applicant_id)


def move_applicant(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    applicant_id: str,
    from_stage_id: str,
    to_stage_id: str,
    send_email: bool = True,
) -> Applicant:
    """Moves an active applicant by hand; `send_email` False asks for no "entered stage" email."""
    require_membership(deps, principal, org_id)
    applicant = load_applicant(deps, org_id, applicant_id)
    if not applicant.is_active:
        raise not_active(applicant.status, "reopen them first to move them")
    if applicant.stage_id != from_stage_id:
        raise Conflict(
            "applicant_not_in_stage",
            f"The applicant is no longer in stage {from_stage_id!r} (now in {applicant.stage_id!r}); "
            "reload and retry",
        )
    if to_stage_id == from_stage_id:
        raise InvalidInput("same_stage", "The applicant is already in that stage")
    source = load_stage(deps, org_id, applicant.application_id, from_stage_id)
    target = deps.store.stages.get(org_id, applicant.application_id, to_stage_id)
    if target is None:
        raise InvalidInput(
            "invalid_move_target", "to_stage_id must be a stage of the applicant's application"
        )
    mover = Mover(kind="user", id=principal.user.id)
    moved = move(deps, applicant, source, target, mover, _still_active, send_email=send_email)
    if moved is None:
        current = load_applicant(deps, org_id, applicant_id)
        if not current.is_active:
            raise not_active(current.status, "reopen them first to move them")
        raise Conflict(
            "applicant_not_in_stage",
            f"The applicant left stage {from_stage_id!r} meanwhile; reload and retry",
        )
    return moved


@transactional
def delete_applicant(deps: Dependencies, principal: Principal, org_id: str, applicant_id: str) -> None:
    """Erases the person's data (name, email, answers, portal link, documents and their objects) and
    keeps an anonymous history."""
    require_membership(deps, principal, org_id, Role.ADMIN)
    applicant = load_applicant(deps, org_id, applicant_id)
    mover = Mover(kind="user", id=principal.user.id)
    documents.erase_for_applicant(deps, org_id, applicant_id)

    def erase(current: Applicant) -> Applicant | None:
        if current.is_deleted:
            return None
        now = deps.clock.now()
        return current.model_copy(
            update={
                "email": None,
                "first_name": "",
                "last_name": "",
                "answers": {},
                "portal_secret_hashes": [],
                **NO_IDLE_DEADLINE,
                "stage_id": None,
                "deleted_at": now,
                "history": history_closed(current.history, now, mover),
            }
        )

    if update_applicant(deps, org_id, applicant_id, erase) is None:
        raise NotFound("applicant_not_found", f"No applicant {applicant_id!r} in this organisation")
    deps.emit(
        events.APPLICANT_DELETED,
        org_id,
        {"applicant_id": applicant_id, "application_id": applicant.application_id},
    )


# ---------------------------------------------------------------- the idle sweeper


@dataclass
class SweepResult:
    due: int = 0
    moved: int = 0
    skipped: int = 0


def sweep_idle(deps: Dependencies, batch_size: int = 500) -> SweepResult:
    """Moves everyone whose idle deadline has passed. Safe to run twice at once and to crash halfway:
    each move is conditional, and whoever was not moved is still due next time."""
    result = SweepResult()
    stages: dict[tuple[str, str, str], Stage | None] = {}
    live: dict[str, bool] = {}
    seen: set[str] = set()
    now = deps.clock.now()

    def org_is_live(org_id: str) -> bool:
        if org_id not in live:
            live[org_id] = live_org(deps, org_id) is not None
        return live[org_id]

    def stage_of(applicant: Applicant, stage_id: str) -> Stage | None:
        key = (applicant.org_id, applicant.application_id, stage_id)
        if key not in stages:
            stages[key] = deps.store.stages.get(*key)
        return stages[key]

    while True:
        due = [a for a in deps.store.applicants.due_for_idle_move(now, batch_size) if a.id not in seen]
        if not due:
            return result
        for applicant in due:
            seen.add(applicant.id)
            result.due += 1
            if applicant.stage_id is None:
                continue
            if not applicant.is_active:
                # Deciding clears the deadline; one left behind (a write from before, a restore) is
                # forgotten, never acted on.
                update_applicant(deps, applicant.org_id, applicant.id, _forget_decided_deadline)
                result.skipped += 1
                continue
            if not org_is_live(applicant.org_id):
                result.skipped += 1  # its org is being deleted: nobody moves, the purge removes them
                continue
            stage = stage_of(applicant, applicant.stage_id)
            rule = _idle_rule(stage, applicant.idle_rule_id)
            target = stage_of(applicant, rule.to_stage_id) if rule else None
            if stage is None or rule is None or target is None:
                # The rule or a stage went away after the deadline was set: forget the deadline.
                forget = _forget_deadline(applicant.stage_id, applicant.idle_rule_id)
                update_applicant(deps, applicant.org_id, applicant.id, forget)
                result.skipped += 1
                continue
            still_due = _still_due(now, rule.id)
            if move(deps, applicant, stage, target, Mover(kind="sweeper", id=rule.id), still_due) is not None:
                result.moved += 1
            else:
                result.skipped += 1  # someone else moved them first, or they completed the stage


def _still_due(now: datetime, rule_id: str) -> Callable[[Applicant], bool]:
    return lambda a: (
        a.is_active and a.idle_rule_id == rule_id and a.idle_deadline is not None and a.idle_deadline <= now
    )


def _forget_decided_deadline(current: Applicant) -> Applicant | None:
    if current.is_active or current.idle_deadline is None:
        return None
    return current.model_copy(update=NO_IDLE_DEADLINE)


def _forget_deadline(stage_id: str, rule_id: str | None) -> Callable[[Applicant], Applicant | None]:
    def forget(current: Applicant) -> Applicant | None:
        if current.stage_id != stage_id or current.idle_rule_id != rule_id:
            return None
        return current.model_copy(update=NO_IDLE_DEADLINE)

    return forget


def _idle_rule(stage: Stage | None, rule_id: str | None) -> IdleRule | None:
    if stage is None:
        return None
    return next((rule for rule in stage.idle_rules() if rule.id == rule_id), None)
