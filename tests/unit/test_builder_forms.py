"""The builder's forms come from the question table: every type gets its settings, every operator
its words, typed values become answers' stored forms, and rules read back in plain words."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest

from plutomi.domain import file_types
from plutomi.domain.errors import InvalidFields, InvalidInput
from plutomi.domain.pipeline import AnswerRule, Application, Condition, IdleRule, Stage
from plutomi.domain.questions import QUESTION_TYPES, Operator, Question, QuestionKind, QuestionType
from plutomi.web import builder_forms as forms
from plutomi.web import pages

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LICENCE = Question(id="qst_licence", type=QuestionType.BOOLEAN, title="Has a licence")
YEARS = Question(id="qst_years", type=QuestionType.NUMBER, title="Years of driving")
UPLOAD = Question(id="qst_file", type=QuestionType.FILE, title="Driving licence")
STAGE = Stage(
    id="stg_q",
    org_id="acme",
    application_id="app_1",
    name="Questionnaire",
    questions=[LICENCE, YEARS, UPLOAD],
    created_at=NOW,
    updated_at=NOW,
)
APPLICATION = Application(
    id="app_1", org_id="acme", name="Drivers", stage_ids=["stg_q", "stg_w"], created_at=NOW, updated_at=NOW
)
NAMES = {"stg_q": "Questionnaire", "stg_w": "Waiting List"}


def form(**values: str | list[str]) -> pages.Form:
    return pages.Form({name: value if isinstance(value, list) else [value] for name, value in values.items()})


def test_every_setting_flag_of_the_table_has_a_fieldset_and_every_type_a_form() -> None:
    flags = {f.name for f in fields(QuestionKind) if f.name.startswith("takes_")}
    assert flags == set(forms.SETTING_GROUPS)
    by_type = {t.value: t for t in forms.type_forms()}
    assert set(by_type) == {kind.value for kind in QuestionType}
    for kind, entry in QUESTION_TYPES.items():
        expected = {group for flag, group in forms.SETTING_GROUPS.items() if getattr(entry, flag)}
        assert set(by_type[kind.value].groups) == expected
        assert {o for o, _ in by_type[kind.value].operators} == {o.value for o in entry.operators}
    html = render_question_form()
    for flag, group in forms.SETTING_GROUPS.items():
        assert f'data-settings="{group}"' in html, f"builder_question.html renders no fieldset for {flag}"


def test_a_flag_without_a_fieldset_fails_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forms, "SETTING_GROUPS", {"takes_options": "options"})
    with pytest.raises(RuntimeError, match="takes_file_settings"):
        forms.require_a_group_per_setting()


def render_question_form() -> str:
    template = pages.environment().get_template("builder_question.html")
    context: dict[str, Any] = {
        "question_values": forms.question_values(None),
        "base": "/app/acme/applications/app_1",
        "stage": STAGE,
        "editing_question": None,
        "failed": "",
        "errors": {},
        "type_choices": [(t.value, t.label) for t in forms.type_forms()],
        "types_with": {group: forms.types_with(group) for group in forms.SETTING_GROUPS.values()},
        "file_types": [(t.content_type, t.label) for t in file_types.FILE_TYPES.values()],
        "default_accepted": "PDF",
        "default_max_mb": "10 MB",
        "max_mb": "25 MB",
    }
    return template.render(**context)


def test_a_question_form_sends_only_the_settings_its_type_takes() -> None:
    typed: dict[str, str | list[str]] = {
        "title": "City",
        "options": "Lisbon\n Porto \n\n",
        "accepts": ["image/png"],
        "max_size_mb": "2",
    }
    text = forms.question_fields(form(type="text", required="true", **typed))
    assert text["options"] == [] and text["accepts"] == [] and text["max_size_bytes"] is None
    choice = forms.question_fields(form(type="single_choice", **typed))
    assert choice["options"] == ["Lisbon", "Porto"] and choice["required"] is False
    upload = forms.question_fields(form(type="file", multiple="true", **typed))
    assert upload["accepts"] == ["image/png"] and upload["max_size_bytes"] == 2 * file_types.MEGABYTE
    assert upload["multiple"] is True and upload["options"] == []


@pytest.mark.parametrize("size", ["lots", "0", "26", "nan"])
def test_a_file_size_that_is_not_a_size_is_refused_next_to_its_field(size: str) -> None:
    with pytest.raises(InvalidFields) as refused:
        forms.question_fields(form(type="file", title="Licence", max_size_mb=size))
    assert set(refused.value.fields) == {"max_size_mb"}


def test_a_missing_title_and_a_service_refusal_name_the_form_fields() -> None:
    with pytest.raises(InvalidFields) as refused:
        forms.question_fields(form(type="single_choice", title="  ", options="A"))
    assert set(refused.value.fields) == {"title"}
    assert forms.question_error(InvalidInput("options_required", "needs one")) == {"options": "needs one"}
    assert set(forms.question_error(InvalidInput("file_size_out_of_range", "x"))) == {"max_size_mb"}


def test_typed_values_become_the_answers_stored_form() -> None:
    assert forms.form_value(YEARS, Operator.GTE, " 2 ") == 2
    assert forms.form_value(LICENCE, Operator.EQ, "true") is True
    assert forms.form_value(YEARS, Operator.IN, "1, 2,,3") == [1, 2, 3]
    assert forms.form_value(UPLOAD, Operator.IS_PRESENT, "anything") is None
    assert forms.form_value(YEARS, Operator.GT, "many") == "many"  # the service says why not


def test_an_answer_rule_form_skips_blank_rows_and_says_what_is_missing() -> None:
    submitted = forms.answer_rule_from(
        form(
            to_stage_id="stg_w",
            match="all",
            rows="3",
            **{
                "condition-0-question": "qst_licence",
                "condition-0-operator": "is_true",
                "condition-2-question": "qst_years",
                "condition-2-operator": "gte",
                "condition-2-value": "2",
            },
        ),
        STAGE,
    )
    assert submitted.rule.conditions == (
        Condition(question_id="qst_licence", operator=Operator.IS_TRUE),
        Condition(question_id="qst_years", operator=Operator.GTE, value=2),
    )
    assert submitted.row_of_condition == (0, 2)
    with pytest.raises(InvalidFields) as refused:
        forms.answer_rule_from(
            form(rows="2", **{"condition-1-question": "qst_years", "condition-1-operator": "gt"}), STAGE
        )
    assert set(refused.value.fields) == {"to_stage_id", "condition-1-value"}
    with pytest.raises(InvalidFields) as empty:
        forms.answer_rule_from(form(to_stage_id="stg_w", rows="2"), STAGE)
    assert empty.value.fields == {"condition-0-question": "Add at least one condition"}


def test_a_refused_condition_is_shown_on_its_own_row() -> None:
    submitted = forms.answer_rule_from(
        form(
            to_stage_id="stg_w",
            rows="2",
            **{
                "condition-0-question": "qst_licence",
                "condition-0-operator": "is_true",
                "condition-1-question": "qst_years",
                "condition-1-operator": "contains",
                "condition-1-value": "2",
            },
        ),
        STAGE,
    )
    error = InvalidInput("operator_not_allowed", "contains applies to text questions only")
    located = forms.answer_rule_error(error, submitted, STAGE, APPLICATION)
    assert (
        list(located) == ["condition-1-operator"]
        and "number question takes" in located["condition-1-operator"]
    )


def test_rules_read_in_plain_words() -> None:
    answer = AnswerRule(
        id="r1",
        to_stage_id="stg_w",
        match="any",
        conditions=(
            Condition(question_id="qst_licence", operator=Operator.IS_TRUE),
            Condition(question_id="qst_years", operator=Operator.GTE, value=2),
        ),
    )
    assert forms.describe_rule(answer, STAGE, NAMES) == (
        "When 'Has a licence' is true or 'Years of driving' is at least 2, move to Waiting List"
    )
    uploaded = AnswerRule(
        id="r2",
        to_stage_id="stg_w",
        conditions=(Condition(question_id="qst_file", operator=Operator.IS_PRESENT),),
    )
    assert (
        forms.describe_rule(uploaded, STAGE, NAMES)
        == "When 'Driving licence' is uploaded, move to Waiting List"
    )
    idle = IdleRule(id="r3", to_stage_id="stg_w", after_minutes=30 * 1440)
    assert forms.describe_rule(idle, STAGE, NAMES) == (
        "After 30 days without completing this stage, move to Waiting List"
    )
    assert forms.split_minutes(90) == (90, "minutes") and forms.split_minutes(120) == (2, "hours")
    assert forms.idle_values(IdleRule(id="r", to_stage_id="stg_w", after_minutes=1440))["unit"] == "days"
