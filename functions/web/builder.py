"""The application builder: an application's settings, its stages in order, each stage's questions
and rules. Every change is a plain form post answered with a 303 back to the builder (JavaScript
only adds dragging stages into order); a refused form shows the builder again with the messages."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain import file_types
from plutomi.domain.errors import Conflict, InvalidFields, InvalidInput
from plutomi.domain.pipeline import AnswerRule, ApplicationStatus, IdleRule, Stage
from plutomi.domain.questions import QUESTION_TYPES
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.services import applications
from plutomi.services.auth import Principal
from plutomi.services.designs import Design
from plutomi.web import builder_forms as forms
from plutomi.web import pages

router = pages.Router()
BASE = "/app/<org_id>/applications/<application_id>"
STAGE = f"{BASE}/stages/<stage_id>"
UNPROCESSABLE = HTTPStatus.UNPROCESSABLE_ENTITY


def _builder_url(org_id: str, application_id: str, stage_id: str | None = None, anchor: str = "") -> str:
    url = f"/app/{org_id}/applications/{application_id}"
    if stage_id:
        url += f"?stage={stage_id}"
    return url + (f"#{anchor}" if anchor else "")


def _back(org_id: str, application_id: str, stage_id: str | None = None, anchor: str = "") -> Response[str]:
    return pages.redirect(_builder_url(org_id, application_id, stage_id, anchor), router=router)


@router.get(BASE)
def builder(org_id: str, application_id: str) -> Response[str]:
    return _page(
        org_id,
        application_id,
        stage_id=pages.query(router, "stage") or None,
        question_id=pages.query(router, "question") or None,
        rule_id=pages.query(router, "rule") or None,
    )


# ---------------------------------------------------------------- the application


@router.post(BASE)
def update_settings(org_id: str, application_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    try:
        body = pages.parse(
            schemas.UpdateApplication,
            {"name": form.get("name").strip(), "description": form.get("description").strip()},
        )
        applications.update_application(
            dependencies(), me, org_id, application_id, body.name, body.description
        )
    except InvalidFields as error:
        return _refused(me, org_id, application_id, "settings", error.fields, settings=form.first_values())
    return _back(org_id, application_id, anchor="settings")


@router.post(f"{BASE}/status")
def change_status(org_id: str, application_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    try:
        status = ApplicationStatus(form.get("status"))
        applications.update_application(dependencies(), me, org_id, application_id, status=status)
    except ValueError:
        return _refused(me, org_id, application_id, "settings", {"status": "Choose open or closed"})
    except Conflict as error:
        return _conflict(me, org_id, application_id, error)
    return _back(org_id, application_id)


@router.post(f"{BASE}/delete")
def delete_application(org_id: str, application_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        applications.delete_application(dependencies(), me, org_id, application_id)
    except Conflict as error:
        return _conflict(me, org_id, application_id, error)
    return pages.redirect(f"/app/{org_id}", router=router)


# ---------------------------------------------------------------- stages


@router.post(f"{BASE}/stages")
def add_stage(org_id: str, application_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    try:
        body = pages.parse(schemas.CreateStage, {"name": form.get("new_stage_name").strip()})
        design = applications.create_stage(dependencies(), me, org_id, application_id, body.name, None)
    except InvalidFields as error:
        errors = {"new_stage_name": next(iter(error.fields.values()))}
        return _refused(
            me, org_id, application_id, "new_stage", errors, new_stage_name=form.get("new_stage_name")
        )
    except Conflict as error:
        return _conflict(me, org_id, application_id, error)
    return _back(org_id, application_id, design.stages[-1].id, "stage")


@router.post(STAGE)
def rename_stage(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    try:
        body = pages.parse(schemas.UpdateStage, {"name": form.get("stage_name").strip()})
        applications.update_stage(dependencies(), me, org_id, application_id, stage_id, body.name, None)
    except InvalidFields as error:
        errors = {"stage_name": next(iter(error.fields.values()))}
        return _refused(
            me, org_id, application_id, "stage", errors, stage_id=stage_id, stage_name=form.get("stage_name")
        )
    except Conflict as error:
        return _conflict(me, org_id, application_id, error, stage_id)
    return _back(org_id, application_id, stage_id, "stage")


@router.post(f"{STAGE}/move")
def move_stage(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    """Move up/down buttons and dragging both post the stage's new 0-based position."""
    me, form = pages.signed_in(router), pages.form(router)
    try:
        body = pages.parse(schemas.UpdateStage, {"position": form.get("position")})
    except InvalidFields:
        return _refused(
            me, org_id, application_id, "stages", {"stages": "That is not a position in the list"}
        )
    try:
        applications.update_stage(dependencies(), me, org_id, application_id, stage_id, None, body.position)
    except Conflict as error:
        return _conflict(me, org_id, application_id, error, stage_id)
    return _back(org_id, application_id, stage_id, "stages")


@router.post(f"{STAGE}/delete")
def delete_stage(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    target = form.get("move_applicants_to") or None
    try:
        applications.delete_stage(dependencies(), me, org_id, application_id, stage_id, target)
    except InvalidInput as error:
        return _refused(
            me,
            org_id,
            application_id,
            "delete_stage",
            {"move_applicants_to": error.message},
            stage_id=stage_id,
        )
    except Conflict as error:
        if error.code != "stage_has_applicants":
            return _conflict(me, org_id, application_id, error, stage_id)
        message = f"{error.message.split(';')[0]}: choose the stage to move them to"
        return _refused(
            me,
            org_id,
            application_id,
            "delete_stage",
            {"move_applicants_to": message},
            stage_id=stage_id,
            status=HTTPStatus.CONFLICT,
        )
    return _back(org_id, application_id, anchor="stages")


# ---------------------------------------------------------------- questions


@router.post(f"{STAGE}/questions")
def add_question(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    return _save_question(org_id, application_id, stage_id, None)


@router.post(f"{STAGE}/questions/<question_id>")
def update_question(org_id: str, application_id: str, stage_id: str, question_id: str) -> Response[str]:
    return _save_question(org_id, application_id, stage_id, question_id)


def _save_question(org_id: str, application_id: str, stage_id: str, question_id: str | None) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    deps = dependencies()
    try:
        fields = forms.question_fields(form)
        if question_id is None:
            applications.add_question(deps, me, org_id, application_id, stage_id, fields, None)
        else:
            applications.update_question(
                deps, me, org_id, application_id, stage_id, question_id, fields, None
            )
    except InvalidFields as error:
        errors = error.fields
    except InvalidInput as error:
        errors = forms.question_error(error)
    except Conflict as error:
        return _conflict(me, org_id, application_id, error, stage_id)
    else:
        return _back(org_id, application_id, stage_id, "questions")
    return _refused(
        me,
        org_id,
        application_id,
        "question",
        errors,
        stage_id=stage_id,
        question_id=question_id,
        question_values=forms.submitted_question_values(form),
    )


@router.post(f"{STAGE}/questions/<question_id>/delete")
def delete_question(org_id: str, application_id: str, stage_id: str, question_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        applications.delete_question(dependencies(), me, org_id, application_id, stage_id, question_id)
    except Conflict as error:
        return _conflict(me, org_id, application_id, error, stage_id)
    return _back(org_id, application_id, stage_id, "questions")


# ---------------------------------------------------------------- rules


@router.post(f"{STAGE}/rules")
def add_rule(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    return _save_rule(org_id, application_id, stage_id, None)


@router.post(f"{STAGE}/rules/<rule_id>")
def update_rule(org_id: str, application_id: str, stage_id: str, rule_id: str) -> Response[str]:
    return _save_rule(org_id, application_id, stage_id, rule_id)


def _save_rule(org_id: str, application_id: str, stage_id: str, rule_id: str | None) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    deps = dependencies()
    if form.get("kind") == "idle":
        return _save_idle_rule(me, form, org_id, application_id, stage_id, rule_id)
    design = applications.get_design(deps, me, org_id, application_id)
    stage = next((s for s in design.stages if s.id == stage_id), None)
    if stage is None:
        return _back(org_id, application_id)
    rows = forms.condition_rows(form)
    answer_form = {"to_stage_id": form.get("to_stage_id"), "match": form.get("match", "all"), "rows": rows}
    if form.get("more"):  # "Add another condition": the same form with one more row, nothing saved
        answer_form["rows"] = [*rows, forms.ConditionRow()][: forms.MAX_CONDITION_ROWS]
        return _page(
            org_id, application_id, me=me, stage_id=stage_id, rule_id=rule_id, answer_form=answer_form
        )
    try:
        submitted = forms.answer_rule_from(form, stage)
        _store_rule(me, org_id, application_id, stage_id, rule_id, submitted.rule)
    except InvalidFields as error:
        errors = error.fields
    except InvalidInput as error:
        errors = forms.answer_rule_error(error, submitted, stage, design.application)
    except Conflict as error:
        return _conflict(me, org_id, application_id, error, stage_id)
    else:
        return _back(org_id, application_id, stage_id, "rules")
    return _refused(
        me,
        org_id,
        application_id,
        "answer_rule",
        errors,
        stage_id=stage_id,
        rule_id=rule_id,
        answer_form=answer_form,
    )


def _save_idle_rule(
    me: Principal, form: pages.Form, org_id: str, application_id: str, stage_id: str, rule_id: str | None
) -> Response[str]:
    try:
        rule = forms.idle_rule_from(form)
        _store_rule(me, org_id, application_id, stage_id, rule_id, rule)
    except InvalidFields as error:
        errors = error.fields
    except InvalidInput as error:
        name = "idle_to_stage_id" if error.code in forms.RULE_TARGET_CODES else "amount"
        errors = {name: error.message}
    except Conflict as error:
        return _conflict(me, org_id, application_id, error, stage_id)
    else:
        return _back(org_id, application_id, stage_id, "rules")
    values = {name: form.get(name) for name in ("idle_to_stage_id", "amount", "unit")}
    return _refused(
        me, org_id, application_id, "idle_rule", errors, stage_id=stage_id, rule_id=rule_id, idle_form=values
    )


def _store_rule(
    me: Principal,
    org_id: str,
    application_id: str,
    stage_id: str,
    rule_id: str | None,
    rule: AnswerRule | IdleRule,
) -> None:
    deps = dependencies()
    if rule_id is None:
        applications.add_rule(deps, me, org_id, application_id, stage_id, rule, None)
    else:
        applications.update_rule(deps, me, org_id, application_id, stage_id, rule_id, rule, None)


@router.post(f"{STAGE}/rules/<rule_id>/delete")
def delete_rule(org_id: str, application_id: str, stage_id: str, rule_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        applications.delete_rule(dependencies(), me, org_id, application_id, stage_id, rule_id)
    except Conflict as error:
        return _conflict(me, org_id, application_id, error, stage_id)
    return _back(org_id, application_id, stage_id, "rules")


# ---------------------------------------------------------------- the page


def _refused(
    me: Principal,
    org_id: str,
    application_id: str,
    failed: str,
    errors: dict[str, str],
    *,
    stage_id: str | None = None,
    status: int = UNPROCESSABLE,
    **context: Any,
) -> Response[str]:
    return _page(
        org_id,
        application_id,
        me=me,
        stage_id=stage_id,
        status=status,
        failed=failed,
        errors=errors,
        **context,
    )


def _conflict(
    me: Principal, org_id: str, application_id: str, error: Conflict, stage_id: str | None = None
) -> Response[str]:
    """The builder as it is now, saying what stood in the way (someone else's change, or a rule)."""
    return _page(
        org_id, application_id, me=me, stage_id=stage_id, status=HTTPStatus.CONFLICT, notice=error.message
    )


def _page(
    org_id: str,
    application_id: str,
    *,
    me: Principal | None = None,
    stage_id: str | None = None,
    question_id: str | None = None,
    rule_id: str | None = None,
    status: int = HTTPStatus.OK,
    failed: str = "",
    errors: dict[str, str] | None = None,
    notice: str = "",
    settings: dict[str, str] | None = None,
    new_stage_name: str = "",
    stage_name: str | None = None,
    question_values: dict[str, Any] | None = None,
    answer_form: dict[str, Any] | None = None,
    idle_form: dict[str, str] | None = None,
) -> Response[str]:
    me = me or pages.signed_in(router)
    design = applications.get_design(dependencies(), me, org_id, application_id)
    stage = next((s for s in design.stages if s.id == stage_id), design.stages[0] if design.stages else None)
    application = design.application
    context: dict[str, Any] = {
        "application": application,
        "stages": design.stages,
        "stage": stage,
        "base": _builder_url(org_id, application_id),
        "failed": failed,
        "notice": notice,
        "settings": settings or {"name": application.name, "description": application.description},
        "new_stage_name": new_stage_name,
        "is_open": application.status is ApplicationStatus.OPEN,
        "type_choices": [(t.value, t.label) for t in forms.type_forms()],
        "types_with": {group: forms.types_with(group) for group in forms.SETTING_GROUPS.values()},
        "file_types": [(t.content_type, t.label) for t in file_types.FILE_TYPES.values()],
        "default_accepted": ", ".join(file_types.FILE_TYPES[t].label for t in file_types.DEFAULT_ACCEPTED),
        "default_max_mb": file_types.megabytes(file_types.DEFAULT_MAX_FILE_BYTES),
        "max_mb": file_types.megabytes(file_types.MAX_FILE_BYTES),
        "operator_choices": [("", "Choose a test")]
        + [(o.value, words) for o, words in forms.OPERATOR_WORDS.items()],
        "takes_no_value": sorted(o.value for o in forms.TAKES_NO_VALUE),
    }
    if stage is not None:
        context.update(
            _stage_context(
                design, stage, question_id, rule_id, stage_name, question_values, answer_form, idle_form
            )
        )
    return pages.recruiter_page(
        router,
        "builder.html",
        org_id=org_id,
        section="applications",
        status=status,
        me=me,
        errors=errors or {},
        **context,
    )


def _stage_context(
    design: Design,
    stage: Stage,
    question_id: str | None,
    rule_id: str | None,
    stage_name: str | None,
    question_values: dict[str, Any] | None,
    answer_form: dict[str, Any] | None,
    idle_form: dict[str, str] | None,
) -> dict[str, Any]:
    names = {s.id: s.name for s in design.stages}
    others = [(s.id, s.name) for s in design.stages if s.id != stage.id]
    editing_question = stage.question(question_id) if question_id else None
    editing_rule = next((r for r in stage.rules if r.id == rule_id), None) if rule_id else None
    editing_answer = editing_rule if isinstance(editing_rule, AnswerRule) else None
    editing_idle = editing_rule if isinstance(editing_rule, IdleRule) else None
    return {
        "stage_position": design.stages.index(stage),
        "stage_name": stage.name if stage_name is None else stage_name,
        "others": others,
        "stage_choices": [("", "Choose a stage"), *others],
        "question_choices": [("", "Choose a question"), *((q.id, q.title) for q in stage.questions)],
        "questions": [(q, forms.type_label(q.type)) for q in stage.questions],
        "rules": [(r, forms.describe_rule(r, stage, names)) for r in stage.rules],
        "editing_question": editing_question,
        "question_values": question_values or forms.question_values(editing_question),
        "editing_answer": editing_answer,
        "answer_form": answer_form
        or {
            "to_stage_id": editing_answer.to_stage_id if editing_answer else "",
            "match": editing_answer.match if editing_answer else "all",
            "rows": forms.rows_of(editing_answer, stage),
        },
        "editing_idle": editing_idle,
        "idle_form": idle_form or forms.idle_values(editing_idle),
        # For builder.js: which operators each question's type takes.
        "operators_by_question": json.dumps(
            {q.id: sorted(o.value for o in QUESTION_TYPES[q.type].operators) for q in stage.questions}
        ),
    }


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
