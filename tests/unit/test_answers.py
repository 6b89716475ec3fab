"""Unit tests for the answer side: questions.coerce_answer, pipeline.validate_answers and is_complete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from plutomi.domain.pipeline import Stage, is_complete, validate_answers
from plutomi.domain.questions import Question, QuestionType, coerce_answer

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
COLORS = ("red", "green", "blue")


def _q(
    kind: QuestionType, qid: str = "q", *, required: bool = True, options: tuple[str, ...] = ()
) -> Question:
    return Question(id=qid, type=kind, title=f"Question {qid}", required=required, options=options)


def _stage(*questions: Question) -> Stage:
    return Stage(
        id="stg_1",
        org_id="acme",
        application_id="app_1",
        name="Screening",
        questions=list(questions),
        created_at=NOW,
        updated_at=NOW,
    )


def _ok(question: Question, value: Any) -> Any:
    stored, problem = coerce_answer(question, value)
    assert problem is None, f"{value!r} was refused: {problem}"
    return stored


def _refused(question: Question, value: Any) -> str:
    stored, problem = coerce_answer(question, value)
    assert problem is not None, f"{value!r} was accepted as {stored!r}"
    assert stored is None
    return problem


# ---------------------------------------------------------------- text and long text


def test_text_is_trimmed() -> None:
    assert _ok(_q(QuestionType.TEXT), "  Ada Lovelace \n") == "Ada Lovelace"
    assert _ok(_q(QuestionType.LONG_TEXT), "\t line one\nline two  ") == "line one\nline two"


@pytest.mark.parametrize(
    "value",
    [
        "Ada\r\nBcc: victim@example.com",
        "Ada\x00",
        "Ada\x1b[31m",
        "Ada\x85",
        "invoice\u202efdp.exe",
        "Ada\u2066x\u2069",
        "\ufeffAda",
        "Ada\ud800",
        "\u200b\u200d",
        "\u3164",
    ],
)
@pytest.mark.parametrize("kind", [QuestionType.TEXT, QuestionType.LONG_TEXT])
def test_text_refuses_what_the_text_rules_refuse(kind: QuestionType, value: str) -> None:
    if kind is QuestionType.LONG_TEXT and value.startswith("Ada\r\n"):
        assert _ok(_q(kind), value) == "Ada\nBcc: victim@example.com"  # several lines are fine here
        return
    problem = _refused(_q(kind), value)
    assert problem.startswith("must")


def test_text_is_one_line_and_long_text_keeps_lines_and_tabs() -> None:
    assert _refused(_q(QuestionType.TEXT), "line one\nline two").startswith("must be a single line")
    assert _refused(_q(QuestionType.TEXT), "a\tb").startswith("must be a single line")
    assert _ok(_q(QuestionType.LONG_TEXT), "line one\r\n\tline two\rthree") == "line one\n\tline two\nthree"


@pytest.mark.parametrize("value", ["Zoë שלום 👩\u200d💻", "مرحبا\u200f", "日本語のテキスト"])
def test_text_keeps_every_script(value: str) -> None:
    assert _ok(_q(QuestionType.TEXT), value) == value


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (QuestionType.EMAIL, "ada\u202e@example.com"),
        (QuestionType.EMAIL, "ada\x00@example.com"),
        (QuestionType.URL, "https://example.com/\u202egnp.exe"),
        (QuestionType.URL, "https://example.com/\x07"),
        (QuestionType.URL, "https://example.com/\ud800"),
    ],
)
def test_emails_and_urls_refuse_hidden_characters(kind: QuestionType, value: str) -> None:
    assert _refused(_q(kind), value).startswith("must")


def test_validate_answers_reports_hostile_text_per_field() -> None:
    stage = _stage(
        _q(QuestionType.TEXT, "name"), _q(QuestionType.LONG_TEXT, "bio"), _q(QuestionType.TEXT, "ok")
    )
    accepted, errors = validate_answers(stage, {"name": "Ada\r\nBcc: x", "bio": "\x07", "ok": "Fine"})
    assert accepted == {"ok": "Fine"}
    assert set(errors) == {"name", "bio"}
    assert "single line" in errors["name"] and "control characters" in errors["bio"]


@pytest.mark.parametrize(("kind", "limit"), [(QuestionType.TEXT, 500), (QuestionType.LONG_TEXT, 10_000)])
def test_text_length_limit(kind: QuestionType, limit: int) -> None:
    question = _q(kind)
    assert _ok(question, "x" * limit) == "x" * limit
    # surrounding whitespace does not count toward the limit
    assert _ok(question, "  " + "x" * limit + "  ") == "x" * limit
    assert _refused(question, "x" * (limit + 1)) == f"must be at most {limit} characters"


def test_text_limit_differs_between_text_and_long_text() -> None:
    assert _refused(_q(QuestionType.TEXT), "y" * 501) == "must be at most 500 characters"
    assert _ok(_q(QuestionType.LONG_TEXT), "y" * 501) == "y" * 501


@pytest.mark.parametrize("value", [5, 2.5, True, ["a"], {"a": 1}])
@pytest.mark.parametrize("kind", [QuestionType.TEXT, QuestionType.LONG_TEXT])
def test_text_refuses_non_strings(kind: QuestionType, value: Any) -> None:
    assert _refused(_q(kind), value) == "must be text"


# ---------------------------------------------------------------- number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (-7, -7),
        (0, 0),
        (2.5, 2.5),
        (4.0, 4),
        ("3", 3),
        (" 2.5 ", 2.5),
        ("-0.25", -0.25),
        ("10.0", 10),
        ("1e3", 1000),
    ],
)
def test_number_accepts_numbers_and_numeric_strings(value: Any, expected: float) -> None:
    stored = _ok(_q(QuestionType.NUMBER), value)
    assert stored == expected
    assert type(stored) is type(expected)


@pytest.mark.parametrize("value", [True, False, None, [1], {"n": 1}])
def test_number_refuses_non_numbers(value: Any) -> None:
    assert _refused(_q(QuestionType.NUMBER), value) == "must be a number"


@pytest.mark.parametrize("value", ["abc", "", "  ", "1,5", "3 apples", "0x10"])
def test_number_refuses_non_numeric_text(value: str) -> None:
    assert _refused(_q(QuestionType.NUMBER), value) == "must be a number"


@pytest.mark.parametrize(
    "value", ["NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN", float("nan"), float("inf")]
)
def test_number_refuses_non_finite(value: Any) -> None:
    assert _refused(_q(QuestionType.NUMBER), value) == "must be a finite number"


@pytest.mark.parametrize("value", ["1e30", 10**30, -(10**30), "9223372036854775808"])
def test_number_beyond_64_bit_integers_is_stored_as_a_float(value: Any) -> None:
    # MongoDB (BSON) cannot store integers wider than 8 bytes: such an answer must not be kept as an int.
    stored = _ok(_q(QuestionType.NUMBER), value)
    assert isinstance(stored, float)
    assert stored == float(value)


def test_number_at_64_bit_bounds_stays_an_int() -> None:
    assert _ok(_q(QuestionType.NUMBER), 2**63 - 1) == 2**63 - 1
    assert type(_ok(_q(QuestionType.NUMBER), -(2**63))) is int


@pytest.mark.parametrize("value", ["1e400", "-1e400", "1e999999999"])
def test_number_too_large_for_a_float_is_refused(value: str) -> None:
    assert _refused(_q(QuestionType.NUMBER), value) == "must be a finite number"


# ---------------------------------------------------------------- boolean


@pytest.mark.parametrize("value", [True, False])
def test_boolean_accepts_real_bools(value: bool) -> None:
    assert _ok(_q(QuestionType.BOOLEAN), value) is value


@pytest.mark.parametrize("value", [1, 0, "true", "false", "yes", None, [True]])
def test_boolean_refuses_look_alikes(value: Any) -> None:
    assert _refused(_q(QuestionType.BOOLEAN), value) == "must be true or false"


# ---------------------------------------------------------------- email and url


def test_email_is_trimmed_and_lowercased() -> None:
    assert _ok(_q(QuestionType.EMAIL), "  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize("value", ["ada", "ada@example", "@example.com", "a b@example.com", "a@@b.com", 42])
def test_email_refuses_non_addresses(value: Any) -> None:
    assert _refused(_q(QuestionType.EMAIL), value) == "must be an email address"


@pytest.mark.parametrize(
    "value", ["https://example.com/cv.pdf", "http://example.com", "HTTPS://Example.com/A"]
)
def test_url_accepts_http_and_https(value: str) -> None:
    assert _ok(_q(QuestionType.URL), f"  {value} ") == value


@pytest.mark.parametrize(
    "value",
    ["ftp://example.com", "javascript:alert(1)", "example.com", "https://", "https://exa mple.com", 7],
)
def test_url_refuses_everything_else(value: Any) -> None:
    assert _refused(_q(QuestionType.URL), value) == "must be an http(s) URL"


# ---------------------------------------------------------------- date


def test_date_accepts_iso_dates() -> None:
    assert _ok(_q(QuestionType.DATE), "2026-02-28") == "2026-02-28"
    assert _ok(_q(QuestionType.DATE), "2024-02-29") == "2024-02-29"


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30",  # no such day
        "2025-02-29",  # not a leap year
        "2026-13-01",
        "01/02/2026",
        "2026-1-5",
        "2026-02-01T10:00:00",
        "tomorrow",
        "20260201",  # compact form: not what the message asks for
        "2026-W05-1",  # ISO week date: not what the message asks for
        "2026-02-01\n",
        " 2026-02-01",
        "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in "2026-02-01"),  # full-width digits
        20260201,  # a number is not a date
        None,
    ],
)
def test_date_refuses_anything_but_yyyy_mm_dd(value: Any) -> None:
    assert _refused(_q(QuestionType.DATE), value) == "must be a date as YYYY-MM-DD"


# ---------------------------------------------------------------- choices


def test_single_choice_must_be_one_of_the_options() -> None:
    question = _q(QuestionType.SINGLE_CHOICE, options=COLORS)
    assert _ok(question, "green") == "green"
    assert _refused(question, "purple") == "must be one of: red, green, blue"
    assert _refused(question, "Green") == "must be one of: red, green, blue"  # exact match only
    assert _refused(question, ["red"]) == "must be one of: red, green, blue"


def test_multi_choice_is_deduplicated_and_in_option_order() -> None:
    question = _q(QuestionType.MULTI_CHOICE, options=COLORS)
    assert _ok(question, ["blue", "red", "blue", "red"]) == ["red", "blue"]
    assert _ok(question, ["green"]) == ["green"]
    assert _ok(question, ["blue", "green", "red"]) == ["red", "green", "blue"]


def test_multi_choice_unknown_option_lists_the_choices() -> None:
    problem = _refused(_q(QuestionType.MULTI_CHOICE, options=COLORS), ["red", "pink", "teal"])
    assert problem == "unknown option(s) pink, teal; choose from: red, green, blue"


@pytest.mark.parametrize("value", ["red", [1, 2], ["red", None], {"red": True}, 3])
def test_multi_choice_needs_a_list_of_strings(value: Any) -> None:
    assert _refused(_q(QuestionType.MULTI_CHOICE, options=COLORS), value) == "must be a list of options"


# ---------------------------------------------------------------- validate_answers


def test_validate_answers_gives_stored_forms_and_a_message_per_field() -> None:
    stage = _stage(
        _q(QuestionType.TEXT, "name"),
        _q(QuestionType.NUMBER, "years"),
        _q(QuestionType.EMAIL, "email"),
        _q(QuestionType.BOOLEAN, "relocate"),
        _q(QuestionType.DATE, "start"),
        _q(QuestionType.MULTI_CHOICE, "colors", options=COLORS),
        _q(QuestionType.URL, "site"),
    )
    accepted, errors = validate_answers(
        stage,
        {
            "name": "  Ada ",
            "years": "7",
            "email": "ADA@EXAMPLE.COM",
            "relocate": "yes",
            "start": "2026-02-30",
            "colors": ["blue", "red"],
            "site": "ftp://example.com",
            "nope": "x",
        },
    )
    assert accepted == {"name": "Ada", "years": 7, "email": "ada@example.com", "colors": ["red", "blue"]}
    assert errors == {
        "relocate": "must be true or false",
        "start": "must be a date as YYYY-MM-DD",
        "site": "must be an http(s) URL",
        "nope": "is not a question of this stage",
    }


def test_validate_answers_unknown_question_id() -> None:
    accepted, errors = validate_answers(_stage(_q(QuestionType.TEXT, "name")), {"ghost": "boo"})
    assert accepted == {}
    assert errors == {"ghost": "is not a question of this stage"}


@pytest.mark.parametrize("empty", [None, "", []])
def test_empty_value_on_required_question_is_required(empty: Any) -> None:
    stage = _stage(_q(QuestionType.TEXT, "name"), _q(QuestionType.MULTI_CHOICE, "c", options=COLORS))
    accepted, errors = validate_answers(stage, {"name": empty, "c": empty})
    assert accepted == {}
    assert errors == {"name": "is required", "c": "is required"}


@pytest.mark.parametrize("empty", [None, "", []])
def test_empty_value_on_optional_question_is_stored_as_none(empty: Any) -> None:
    stage = _stage(
        _q(QuestionType.NUMBER, "n", required=False),
        _q(QuestionType.MULTI_CHOICE, "c", required=False, options=COLORS),
    )
    accepted, errors = validate_answers(stage, {"n": empty, "c": empty})
    assert errors == {}
    assert accepted == {"n": None, "c": None}


def test_whitespace_only_text_counts_as_empty() -> None:
    # Trimmed to "", which is_complete treats as unanswered: it must not be silently accepted.
    stage = _stage(_q(QuestionType.TEXT, "name"), _q(QuestionType.LONG_TEXT, "bio", required=False))
    accepted, errors = validate_answers(stage, {"name": "   ", "bio": " \n\t "})
    assert errors == {"name": "is required"}
    assert accepted == {"bio": None}


def test_false_and_zero_are_answers_not_empty() -> None:
    stage = _stage(_q(QuestionType.BOOLEAN, "b"), _q(QuestionType.NUMBER, "n"))
    accepted, errors = validate_answers(stage, {"b": False, "n": 0})
    assert errors == {}
    assert accepted == {"b": False, "n": 0}
    assert is_complete(stage, accepted)


def test_validate_answers_with_nothing_submitted() -> None:
    assert validate_answers(_stage(_q(QuestionType.TEXT, "name")), {}) == ({}, {})


# ---------------------------------------------------------------- is_complete


def test_is_complete_needs_every_required_question() -> None:
    stage = _stage(
        _q(QuestionType.TEXT, "name"),
        _q(QuestionType.MULTI_CHOICE, "colors", options=COLORS),
        _q(QuestionType.URL, "site", required=False),
    )
    assert is_complete(stage, {"name": "Ada", "colors": ["red"]})
    assert is_complete(stage, {"name": "Ada", "colors": ["red"], "site": None})
    assert not is_complete(stage, {"name": "Ada"})
    assert not is_complete(stage, {"name": "Ada", "colors": []})
    assert not is_complete(stage, {"name": "", "colors": ["red"]})
    assert not is_complete(stage, {"name": None, "colors": ["red"]})
    assert not is_complete(stage, {"site": "https://example.com"})


def test_is_complete_with_no_required_questions() -> None:
    assert is_complete(_stage(), {})
    assert is_complete(_stage(_q(QuestionType.TEXT, "opt", required=False)), {})
