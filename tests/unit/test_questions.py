"""Unit tests for plutomi.domain.questions: the one table of question types (every type has an
entry, nothing falls back to a default, docs/api.md shows it), answer schemas, file questions and
`is_present` conditions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate

from plutomi.domain import file_types
from plutomi.domain.errors import InvalidInput
from plutomi.domain.pipeline import AnswerRule, Application, Condition, Stage, condition_holds, validate_rule
from plutomi.domain.questions import (
    QUESTION_TYPES,
    Operator,
    Question,
    QuestionKind,
    QuestionType,
    answer_schema,
    coerce_answer,
    require_every_type,
    validate_question,
)
from plutomi.entrypoints.pipeline_schemas import PublicQuestion

API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
COLORS = ("red", "green", "blue")
DOC = "doc_01JABCDEFGHJKMNPQRSTVWXYZ0"


def _q(kind: QuestionType, **settings: Any) -> Question:
    options = COLORS if QUESTION_TYPES[kind].takes_options else ()
    return Question.model_validate({"id": "q", "type": kind, "title": "Ask", "options": options, **settings})


# ---------------------------------------------------------------- the table


def test_every_question_type_has_an_entry() -> None:
    assert set(QUESTION_TYPES) == set(QuestionType)
    require_every_type(QUESTION_TYPES)


@pytest.mark.parametrize("missing", list(QuestionType))
def test_a_table_missing_a_type_is_refused(missing: QuestionType) -> None:
    partial = {kind: entry for kind, entry in QUESTION_TYPES.items() if kind is not missing}
    with pytest.raises(RuntimeError, match=rf"no entry for {missing.value}$"):
        require_every_type(partial)


def test_a_type_whose_presence_cannot_be_tested_is_refused() -> None:
    entry = QUESTION_TYPES[QuestionType.DATE]
    without = QuestionKind(
        answer=entry.answer,
        coerce=entry.coerce,
        operators=entry.operators - {Operator.IS_PRESENT},
        compared=entry.compared,
        schema=entry.schema,
    )
    with pytest.raises(RuntimeError, match="is_present must apply to every question type, not to date"):
        require_every_type({**QUESTION_TYPES, QuestionType.DATE: without})


def test_a_type_without_an_entry_fails_loudly_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before the table, an unknown type was silently coerced as a multi_choice answer.
    question = _q(QuestionType.DATE)
    monkeypatch.delitem(QUESTION_TYPES, QuestionType.DATE)
    with pytest.raises(KeyError):
        coerce_answer(question, ["2026-01-01"])
    with pytest.raises(KeyError):
        validate_question(question)
    with pytest.raises(KeyError):
        answer_schema(question)
    rule = AnswerRule(
        id="r",
        to_stage_id="stg_2",
        conditions=(Condition(question_id="q", operator=Operator.IS_PRESENT),),
    )
    with pytest.raises(KeyError):
        validate_rule(rule, _stage(question), _application())


def _settings(kind: QuestionKind) -> str:
    if kind.takes_options:
        return "`options` (at least one, each different)"
    if kind.takes_file_settings:
        return (
            f"`accepts` (content types, each of {', '.join(f'`{t}`' for t in file_types.FILE_TYPES)}; "
            f"by default {', '.join(f'`{t}`' for t in file_types.DEFAULT_ACCEPTED)}), "
            f"`max_size_bytes` (default {file_types.megabytes(file_types.DEFAULT_MAX_FILE_BYTES)}, "
            f"at most {file_types.megabytes(file_types.MAX_FILE_BYTES)}), `multiple`"
        )
    return "none"


def _table() -> str:
    rows = ["| type | answer | rule operators | settings |", "|---|---|---|---|"]
    for kind in QuestionType:
        entry = QUESTION_TYPES[kind]
        operators = ", ".join(f"`{o.value}`" for o in Operator if o in entry.operators)
        rows.append(f"| `{kind.value}` | {entry.answer} | {operators} | {_settings(entry)} |")
    return "\n".join(rows)


def test_docs_show_the_table() -> None:
    found = re.search(
        r"<!-- question types: generated from QUESTION_TYPES -->\n(.*?)\n<!-- end of question types -->",
        API_DOCS.read_text(),
        re.DOTALL,
    )
    assert found is not None, "docs/api.md lost its question types table"
    assert found.group(1) == _table(), f"docs/api.md's question types table should read:\n{_table()}"


# ---------------------------------------------------------------- answer schemas

# For each type: a question, answers it takes, and answers its schema refuses as well. A schema gives
# the canonical form; coercion also takes a few looser ones (a bare document id, a number as text, an
# option twice), so only "the schema refuses it -> the type refuses it" holds.
SAMPLES: dict[QuestionType, tuple[Question, list[Any], list[Any]]] = {
    QuestionType.TEXT: (_q(QuestionType.TEXT), ["Ada", "x" * 500], [3, None, "x" * 501]),
    QuestionType.LONG_TEXT: (_q(QuestionType.LONG_TEXT), ["line\nline", "x" * 10_000], [["a"], "x" * 10_001]),
    QuestionType.NUMBER: (_q(QuestionType.NUMBER), [3, -2.5, 0], [None, [1]]),
    QuestionType.BOOLEAN: (_q(QuestionType.BOOLEAN), [True, False], ["yes", 1, None]),
    QuestionType.EMAIL: (_q(QuestionType.EMAIL), ["ada@example.com"], ["ada", 5]),
    QuestionType.URL: (
        _q(QuestionType.URL),
        ["https://example.com/cv", "HTTP://example.com"],
        ["ftp://x.org", 5],
    ),
    QuestionType.DATE: (_q(QuestionType.DATE), ["2026-02-28", "2024-02-29"], ["2026-02-30", "28/02/2026", 5]),
    QuestionType.SINGLE_CHOICE: (_q(QuestionType.SINGLE_CHOICE), ["red", "blue"], ["pink", ["red"]]),
    QuestionType.MULTI_CHOICE: (
        _q(QuestionType.MULTI_CHOICE),
        [["red"], ["blue", "red"]],
        ["red", ["pink"]],
    ),
    QuestionType.FILE: (
        _q(QuestionType.FILE),
        [[DOC]],
        [[], [DOC, "doc_2"], ["cv.pdf"], [f"doc_{'x' * 40}"]],
    ),
}


def test_every_type_has_samples() -> None:
    assert set(SAMPLES) == set(QuestionType)


@pytest.mark.parametrize("kind", list(QuestionType))
def test_answers_a_type_takes_fit_its_schema_before_and_after_coercion(kind: QuestionType) -> None:
    question, valid, _ = SAMPLES[kind]
    schema = answer_schema(question)
    for value in valid:
        validate(event=value, schema=schema)
        stored, problem = coerce_answer(question, value)
        assert problem is None, (value, problem)
        validate(event=stored, schema=schema)


@pytest.mark.parametrize("kind", list(QuestionType))
def test_answers_a_schema_refuses_are_refused_by_the_type(kind: QuestionType) -> None:
    question, _, invalid = SAMPLES[kind]
    schema = answer_schema(question)
    for value in invalid:
        with pytest.raises(SchemaValidationError):
            validate(event=value, schema=schema)
        if value not in (None, []):  # empty answers are `required`'s business, before coercion
            assert coerce_answer(question, value)[1] is not None, value


def test_schemas_follow_the_question() -> None:
    assert answer_schema(_q(QuestionType.SINGLE_CHOICE)) == {"type": "string", "enum": list(COLORS)}
    assert answer_schema(_q(QuestionType.MULTI_CHOICE))["items"]["enum"] == list(COLORS)
    assert answer_schema(_q(QuestionType.FILE))["maxItems"] == 1
    assert (
        answer_schema(_q(QuestionType.FILE, multiple=True))["maxItems"] == file_types.MAX_FILES_PER_QUESTION
    )
    # Each call is a fresh dict: a caller changing one changes no other question's.
    answer_schema(_q(QuestionType.TEXT))["maxLength"] = 1
    assert answer_schema(_q(QuestionType.TEXT))["maxLength"] == 500


def test_the_portal_shows_each_question_its_answer_schema() -> None:
    shown = PublicQuestion.of(_q(QuestionType.SINGLE_CHOICE))
    assert shown.answer_schema == {"type": "string", "enum": list(COLORS)}
    assert shown.accepts == [] and shown.max_size_bytes is None
    upload = PublicQuestion.of(_q(QuestionType.FILE, multiple=True))
    assert upload.answer_schema == answer_schema(_q(QuestionType.FILE, multiple=True))
    assert upload.accepts == list(file_types.DEFAULT_ACCEPTED)
    assert upload.max_size_bytes == file_types.DEFAULT_MAX_FILE_BYTES


# ---------------------------------------------------------------- file questions

NOT_FILE = [kind for kind in QuestionType if kind is not QuestionType.FILE]


def _question_error(question: Question) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_question(question)
    return caught.value


def test_a_file_question_with_its_settings_is_valid() -> None:
    validate_question(_q(QuestionType.FILE))
    validate_question(_q(QuestionType.FILE, accepts=tuple(file_types.FILE_TYPES), multiple=True))
    validate_question(_q(QuestionType.FILE, accepts=("image/heic",), max_size_bytes=1))
    validate_question(_q(QuestionType.FILE, max_size_bytes=file_types.MAX_FILE_BYTES))


@pytest.mark.parametrize(
    "accepts",
    [
        ("image/gif",),
        ("application/pdf", "application/zip"),
        ("application/pdf", "application/pdf"),
        ("PDF",),
    ],
)
def test_a_file_question_accepts_only_the_allow_list_once_each(accepts: tuple[str, ...]) -> None:
    error = _question_error(_q(QuestionType.FILE, accepts=accepts))
    assert error.code == "file_type_not_allowed"
    assert "application/pdf, image/jpeg, image/png, image/webp, image/heic" in error.message


@pytest.mark.parametrize("size", [0, -1, file_types.MAX_FILE_BYTES + 1, 10**12])
def test_a_file_question_size_is_within_range(size: int) -> None:
    error = _question_error(_q(QuestionType.FILE, max_size_bytes=size))
    assert error.code == "file_size_out_of_range"
    assert "25 MB" in error.message


@pytest.mark.parametrize("kind", NOT_FILE)
@pytest.mark.parametrize(
    "setting", [{"accepts": ("application/pdf",)}, {"max_size_bytes": 1000}, {"multiple": True}]
)
def test_file_settings_are_for_file_questions_only(kind: QuestionType, setting: dict[str, Any]) -> None:
    error = _question_error(_q(kind, **setting))
    assert error.code == "file_settings_not_allowed"
    assert kind.value in error.message


def test_a_file_question_takes_no_options() -> None:
    assert _question_error(_q(QuestionType.FILE, options=("x",))).code == "options_not_allowed"


def test_a_file_answer_of_one_id_is_kept_as_a_list() -> None:
    assert coerce_answer(_q(QuestionType.FILE), DOC) == ([DOC], None)
    assert coerce_answer(_q(QuestionType.FILE), [DOC]) == ([DOC], None)


def test_several_files_keep_their_order_once_each() -> None:
    ids = [f"doc_{n}" for n in range(file_types.MAX_FILES_PER_QUESTION)]
    question = _q(QuestionType.FILE, multiple=True)
    assert coerce_answer(question, ids) == (ids, None)
    assert coerce_answer(question, ["doc_b", "doc_a", "doc_b"]) == (["doc_b", "doc_a"], None)


def test_too_many_files_are_refused() -> None:
    ids = [f"doc_{n}" for n in range(file_types.MAX_FILES_PER_QUESTION + 1)]
    assert coerce_answer(_q(QuestionType.FILE, multiple=True), ids) == (None, "takes at most 10 files")


def test_one_file_question_takes_one_file() -> None:
    assert coerce_answer(_q(QuestionType.FILE), [DOC, "doc_2"]) == (None, "takes one file")


@pytest.mark.parametrize(
    "value",
    ["cv.pdf", "DOC_1", 5, None, {"id": DOC}, [DOC, 5], [DOC, None], [], f"doc_{'x' * 37}", ["apl_1"]],
)
def test_a_file_answer_names_uploads_only(value: Any) -> None:
    question = _q(QuestionType.FILE, multiple=True)
    assert coerce_answer(question, value) == (
        None,
        "must name an upload (the document id from the upload request)",
    )


# ---------------------------------------------------------------- is_present and operators


def _stage(*questions: Question) -> Stage:
    return Stage(
        id="stg_1",
        org_id="acme",
        application_id="app_1",
        name="Documents",
        questions=list(questions),
        created_at=NOW,
        updated_at=NOW,
    )


def _application() -> Application:
    return Application(
        id="app_1",
        org_id="acme",
        name="Drivers",
        stage_ids=["stg_1", "stg_2"],
        created_at=NOW,
        updated_at=NOW,
    )


def _check(question: Question, operator: Operator, value: Any = None) -> None:
    rule = AnswerRule(
        id="r",
        to_stage_id="stg_2",
        conditions=(Condition(question_id=question.id, operator=operator, value=value),),
    )
    validate_rule(rule, _stage(question), _application())


@pytest.mark.parametrize("kind", list(QuestionType))
@pytest.mark.parametrize("required", [True, False])
def test_is_present_applies_to_every_type(kind: QuestionType, required: bool) -> None:
    _check(_q(kind, required=required), Operator.IS_PRESENT)


@pytest.mark.parametrize("kind", list(QuestionType))
@pytest.mark.parametrize("value", [True, "x", 0, [], DOC])
def test_is_present_takes_no_value(kind: QuestionType, value: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        _check(_q(kind), Operator.IS_PRESENT, value)
    assert caught.value.code == "condition_value_invalid"
    assert caught.value.message == "is_present takes no value"


# A value each operator could compare a file answer with, were it allowed.
VALUES: dict[Operator, list[Any]] = {
    Operator.IN: [[DOC]],
    Operator.NOT_IN: [[DOC]],
    Operator.EQ: [[DOC], DOC],
    Operator.NEQ: [DOC],
    Operator.CONTAINS: [DOC],
    Operator.GT: [1],
    Operator.GTE: [1],
    Operator.LT: [1],
    Operator.LTE: [1],
    Operator.IS_TRUE: [None, True],
    Operator.IS_FALSE: [None],
}


def test_values_cover_every_operator_but_is_present() -> None:
    assert set(VALUES) == set(Operator) - {Operator.IS_PRESENT}


@pytest.mark.parametrize(("operator", "value"), [(o, v) for o, values in VALUES.items() for v in values])
def test_a_file_question_takes_is_present_only(operator: Operator, value: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        _check(_q(QuestionType.FILE), operator, value)
    assert caught.value.code == "operator_not_allowed"
    assert caught.value.message.endswith("a file question takes is_present")


def test_operator_not_allowed_says_what_would_be() -> None:
    with pytest.raises(InvalidInput) as caught:
        _check(_q(QuestionType.TEXT), Operator.GT, 3)
    assert caught.value.message == (
        "gt applies to number, date questions only; "
        "a text question takes eq, neq, in, not_in, contains, is_present"
    )


@pytest.mark.parametrize(
    ("answer", "holds"),
    [(None, False), ("", False), ([], False), ([DOC], True), ("x", True), (0, True), (False, True)],
)
def test_is_present_holds_when_the_question_is_answered(answer: Any, holds: bool) -> None:
    assert condition_holds(Condition(question_id="q", operator=Operator.IS_PRESENT), answer) is holds
