"""Designing applications: the application, its ordered stages, their questions and rules.

Members read designs; admins and owners change them. Every change is a read-modify-write under the
document's version, retried a few times, so two designers never overwrite each other silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plutomi.domain import events
from plutomi.domain.errors import Conflict, InvalidInput, NotFound
from plutomi.domain.models import Role
from plutomi.domain.pipeline import (
    MAX_QUESTIONS_PER_STAGE,
    MAX_RULES_PER_STAGE,
    MAX_STAGES,
    AnswerRule,
    Application,
    ApplicationStatus,
    IdleRule,
    Stage,
    insert_at,
    move_to,
    rules_targeting,
    validate_rule,
)
from plutomi.domain.questions import Question, validate_question
from plutomi.services.auth import Principal
from plutomi.services.designs import Design, design_of, load_application, load_stage, ordered_stages
from plutomi.services.moves import move_all_out_of_stage, reschedule_idle_deadlines
from plutomi.services.orgs import require_membership
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import retrying, transactional

# ---------------------------------------------------------------- applications


@transactional
def create_application(
    deps: Dependencies, principal: Principal, org_id: str, name: str, description: str
) -> Design:
    require_membership(deps, principal, org_id, Role.ADMIN)
    now = deps.clock.now()
    application = Application(
        id=deps.clock.new_id("app"),
        org_id=org_id,
        name=name,
        description=description,
        created_at=now,
        updated_at=now,
    )
    deps.store.applications.create(application)
    deps.emit(events.APPLICATION_CREATED, org_id, {"application_id": application.id, "name": name})
    return Design(application=application, stages=[])


def list_applications(deps: Dependencies, principal: Principal, org_id: str) -> list[Application]:
    require_membership(deps, principal, org_id)
    return deps.store.applications.list_for_org(org_id)


def get_design(deps: Dependencies, principal: Principal, org_id: str, application_id: str) -> Design:
    require_membership(deps, principal, org_id)
    return design_of(deps, load_application(deps, org_id, application_id))


@transactional
def update_application(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    name: str | None = None,
    description: str | None = None,
    status: ApplicationStatus | None = None,
) -> Design:
    require_membership(deps, principal, org_id, Role.ADMIN)
    changes: dict[str, Any] = {
        key: value for key, value in (("name", name), ("description", description)) if value is not None
    }
    before: Application | None = None

    def change() -> Application | None:
        nonlocal before
        before = load_application(deps, org_id, application_id)
        if status is not None:
            if status is ApplicationStatus.OPEN and not before.stage_ids:
                raise Conflict(
                    "application_has_no_stages", "Add at least one stage before opening the application"
                )
            changes["status"] = status.value
        if not changes:
            return before
        return deps.store.applications.update(before, deps.clock.now(), **changes)

    application = retrying(change)
    assert before is not None
    if changes:
        data = {"application_id": application_id, "changed": sorted(changes)}
        deps.emit(events.APPLICATION_UPDATED, org_id, data)
        if status is not None and before.status is not status:
            if status is ApplicationStatus.OPEN:
                deps.emit(events.APPLICATION_OPENED, org_id, {"application_id": application_id})
            elif before.status is ApplicationStatus.OPEN:
                deps.emit(
                    events.APPLICATION_CLOSED,
                    org_id,
                    {"application_id": application_id, "status": status.value},
                )
    return design_of(deps, application)


@transactional
def delete_application(deps: Dependencies, principal: Principal, org_id: str, application_id: str) -> None:
    require_membership(deps, principal, org_id, Role.ADMIN)
    load_application(deps, org_id, application_id)
    if deps.store.applicants.any_for_application(org_id, application_id):
        held = deps.store.applicants.count_for_application(org_id, application_id)
        raise Conflict(
            "application_has_applicants",
            f"{held} applicant(s) belong to this application; close it instead, or delete them first",
        )
    deps.store.stages.delete_all_for_application(org_id, application_id)
    deps.store.applications.delete(org_id, application_id)
    deps.emit(events.APPLICATION_DELETED, org_id, {"application_id": application_id})


# ---------------------------------------------------------------- stages


@transactional
def create_stage(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    name: str,
    position: int | None,
) -> Design:
    require_membership(deps, principal, org_id, Role.ADMIN)
    now = deps.clock.now()
    stage = Stage(
        id=deps.clock.new_id("stg"),
        org_id=org_id,
        application_id=application_id,
        name=name,
        created_at=now,
        updated_at=now,
    )

    def add() -> Application | None:
        application = load_application(deps, org_id, application_id)
        if len(application.stage_ids) >= MAX_STAGES:
            raise Conflict("too_many_stages", f"An application has at most {MAX_STAGES} stages")
        return deps.store.applications.update(
            application, now, stage_ids=insert_at(application.stage_ids, stage.id, position)
        )

    load_application(deps, org_id, application_id)
    deps.store.stages.create(stage)  # not listed in the order until `add` succeeds
    try:
        application = retrying(add)
    except Exception:
        deps.store.stages.delete(org_id, stage.id)
        raise
    deps.emit(
        events.STAGE_CREATED, org_id, {"application_id": application_id, "stage_id": stage.id, "name": name}
    )
    return design_of(deps, application)


@transactional
def update_stage(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    name: str | None,
    position: int | None,
) -> Design:
    require_membership(deps, principal, org_id, Role.ADMIN)
    if name is not None:
        _change_stage(deps, org_id, application_id, stage_id, lambda stage: {"name": name})
    if position is not None:

        def reorder() -> Application | None:
            application = load_application(deps, org_id, application_id)
            if stage_id not in application.stage_ids:
                raise NotFound("stage_not_found", f"No stage {stage_id!r} in this application")
            new_order = move_to(application.stage_ids, stage_id, position)
            return deps.store.applications.update(application, deps.clock.now(), stage_ids=new_order)

        retrying(reorder)
    deps.emit(events.STAGE_UPDATED, org_id, {"application_id": application_id, "stage_id": stage_id})
    return design_of(deps, load_application(deps, org_id, application_id))


@transactional
def delete_stage(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    move_applicants_to: str | None,
) -> Design:
    require_membership(deps, principal, org_id, Role.ADMIN)
    application = load_application(deps, org_id, application_id)
    stage = load_stage(deps, org_id, application_id, stage_id)
    stages = ordered_stages(deps, application)
    targeting = [(s, r) for s, r in rules_targeting(stages, stage_id) if s.id != stage_id]
    if targeting:
        names = ", ".join(f"{rule.id} (in stage {source.name!r})" for source, rule in targeting)
        raise Conflict(
            "stage_targeted_by_rules", f"Rules move people to this stage: {names}; change them first"
        )
    if application.status is ApplicationStatus.OPEN and len(application.stage_ids) == 1:
        raise Conflict(
            "application_needs_a_stage", "An open application needs at least one stage; close it first"
        )
    if deps.store.applicants.any_in_stage(org_id, application_id, stage_id):
        if move_applicants_to is None:
            held = deps.store.applicants.count_in_stage(org_id, application_id, stage_id)
            raise Conflict(
                "stage_has_applicants",
                f"{held} applicant(s) are in this stage; "
                "pass move_applicants_to with another stage of this application",
            )
        if move_applicants_to == stage_id or move_applicants_to not in application.stage_ids:
            raise InvalidInput(
                "invalid_move_target", "move_applicants_to must be another stage of this application"
            )
        move_all_out_of_stage(
            deps, principal, stage, load_stage(deps, org_id, application_id, move_applicants_to)
        )

    def remove() -> Application | None:
        current = load_application(deps, org_id, application_id)
        order = [i for i in current.stage_ids if i != stage_id]
        return deps.store.applications.update(current, deps.clock.now(), stage_ids=order)

    updated = retrying(remove)
    deps.store.stages.delete(org_id, stage_id)
    deps.emit(events.STAGE_DELETED, org_id, {"application_id": application_id, "stage_id": stage_id})
    return design_of(deps, updated)


def get_stage(
    deps: Dependencies, principal: Principal, org_id: str, application_id: str, stage_id: str
) -> Stage:
    require_membership(deps, principal, org_id)
    return load_stage(deps, org_id, application_id, stage_id)


def _change_stage(
    deps: Dependencies,
    org_id: str,
    application_id: str,
    stage_id: str,
    changes_for: Callable[[Stage], dict[str, Any]],
) -> Stage:
    def change() -> Stage | None:
        stage = load_stage(deps, org_id, application_id, stage_id)
        return deps.store.stages.update(stage, deps.clock.now(), **changes_for(stage))

    return retrying(change)


# ---------------------------------------------------------------- questions


def _dump(items: list[Question] | list[AnswerRule | IdleRule]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in items]


def add_question(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    fields: dict[str, Any],
    position: int | None,
) -> Stage:
    require_membership(deps, principal, org_id, Role.ADMIN)
    question = Question(id=deps.clock.new_id("qst"), **fields)
    validate_question(question)

    def changes(stage: Stage) -> dict[str, Any]:
        if len(stage.questions) >= MAX_QUESTIONS_PER_STAGE:
            raise Conflict("too_many_questions", f"A stage has at most {MAX_QUESTIONS_PER_STAGE} questions")
        order = insert_at([q.id for q in stage.questions], question.id, position)
        by_id = {q.id: q for q in [*stage.questions, question]}
        return {"questions": _dump([by_id[i] for i in order])}

    return _stage_changed(deps, org_id, application_id, stage_id, changes)


def update_question(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    question_id: str,
    fields: dict[str, Any],
    position: int | None,
) -> Stage:
    require_membership(deps, principal, org_id, Role.ADMIN)

    def changes(stage: Stage) -> dict[str, Any]:
        current = stage.question(question_id)
        if current is None:
            raise NotFound("question_not_found", f"No question {question_id!r} in this stage")
        updated = Question.model_validate({**current.model_dump(), **fields})
        validate_question(updated)
        questions = [updated if q.id == question_id else q for q in stage.questions]
        if position is not None:
            order = move_to([q.id for q in questions], question_id, position)
            by_id = {q.id: q for q in questions}
            questions = [by_id[i] for i in order]
        return {"questions": _dump(questions)}

    return _stage_changed(deps, org_id, application_id, stage_id, changes)


def delete_question(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    question_id: str,
) -> Stage:
    require_membership(deps, principal, org_id, Role.ADMIN)

    def changes(stage: Stage) -> dict[str, Any]:
        if stage.question(question_id) is None:
            raise NotFound("question_not_found", f"No question {question_id!r} in this stage")
        used_by = [
            r.id for r in stage.answer_rules() if any(c.question_id == question_id for c in r.conditions)
        ]
        if used_by:
            raise Conflict(
                "question_used_by_rules", f"Rules use this question: {', '.join(used_by)}; change them first"
            )
        return {"questions": _dump([q for q in stage.questions if q.id != question_id])}

    return _stage_changed(deps, org_id, application_id, stage_id, changes)


# ---------------------------------------------------------------- rules


def add_rule(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    rule: AnswerRule | IdleRule,
    position: int | None,
) -> Stage:
    require_membership(deps, principal, org_id, Role.ADMIN)
    rule = rule.model_copy(update={"id": deps.clock.new_id("rul")})

    def changes(stage: Stage) -> dict[str, Any]:
        if len(stage.rules) >= MAX_RULES_PER_STAGE:
            raise Conflict("too_many_rules", f"A stage has at most {MAX_RULES_PER_STAGE} rules")
        validate_rule(rule, stage, load_application(deps, org_id, application_id))
        order = insert_at([r.id for r in stage.rules], rule.id, position)
        by_id = {r.id: r for r in [*stage.rules, rule]}
        return {"rules": _dump([by_id[i] for i in order])}

    return _stage_changed(deps, org_id, application_id, stage_id, changes, reschedule=True)


def update_rule(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    rule_id: str,
    replacement: AnswerRule | IdleRule | None,
    position: int | None,
) -> Stage:
    require_membership(deps, principal, org_id, Role.ADMIN)

    def changes(stage: Stage) -> dict[str, Any]:
        if not any(r.id == rule_id for r in stage.rules):
            raise NotFound("rule_not_found", f"No rule {rule_id!r} in this stage")
        rules = list(stage.rules)
        if replacement is not None:
            updated = replacement.model_copy(update={"id": rule_id})
            validate_rule(updated, stage, load_application(deps, org_id, application_id))
            rules = [updated if r.id == rule_id else r for r in rules]
        if position is not None:
            order = move_to([r.id for r in rules], rule_id, position)
            by_id = {r.id: r for r in rules}
            rules = [by_id[i] for i in order]
        return {"rules": _dump(rules)}

    return _stage_changed(deps, org_id, application_id, stage_id, changes, reschedule=True)


def delete_rule(
    deps: Dependencies, principal: Principal, org_id: str, application_id: str, stage_id: str, rule_id: str
) -> Stage:
    require_membership(deps, principal, org_id, Role.ADMIN)

    def changes(stage: Stage) -> dict[str, Any]:
        if not any(r.id == rule_id for r in stage.rules):
            raise NotFound("rule_not_found", f"No rule {rule_id!r} in this stage")
        return {"rules": _dump([r for r in stage.rules if r.id != rule_id])}

    return _stage_changed(deps, org_id, application_id, stage_id, changes, reschedule=True)


@transactional
def _stage_changed(
    deps: Dependencies,
    org_id: str,
    application_id: str,
    stage_id: str,
    changes_for: Callable[[Stage], dict[str, Any]],
    reschedule: bool = False,
) -> Stage:
    stage = _change_stage(deps, org_id, application_id, stage_id, changes_for)
    if reschedule:
        reschedule_idle_deadlines(deps, stage)
    deps.emit(events.STAGE_UPDATED, org_id, {"application_id": application_id, "stage_id": stage_id})
    return stage
