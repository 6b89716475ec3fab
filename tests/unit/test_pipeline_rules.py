"""Unit tests for plutomi.domain.pipeline: ordering helpers, question and rule validation, and rule
evaluation (conditions, answer rules, idle deadlines)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from plutomi.domain.errors import InvalidInput
from plutomi.domain.pipeline import (
    AnswerRule,
    Application,
    Condition,
    IdleRule,
    Rule,
    Stage,
    answer_rule_target,
    condition_holds,
    idle_deadline,
    insert_at,
    move_to,
    rules_targeting,
    validate_rule,
)
from plutomi.domain.questions import Operator, Question, QuestionType, validate_question

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
IDS = ["a", "b", "c", "d"]
COLORS = ("red", "green", "blue")


def _stage(
    sid: str = "stg_1", *, questions: list[Question] | None = None, rules: list[Rule] | None = None
) -> Stage:
    return Stage(
        id=sid,
        org_id="acme",
        application_id="app_1",
        name=f"Stage {sid}",
        questions=questions or [],
        rules=rules or [],
        created_at=NOW,
        updated_at=NOW,
    )


def _application(*stage_ids: str) -> Application:
    return Application(
        id="app_1", org_id="acme", name="Engineer", stage_ids=list(stage_ids), created_at=NOW, updated_at=NOW
    )


def _cond(question_id: str, operator: Operator, value: Any = None) -> Condition:
    return Condition(question_id=question_id, operator=operator, value=value)


def _answer_rule(rid: str, to: str, *conditions: Condition, match: str = "all") -> AnswerRule:
    return AnswerRule.model_validate({"id": rid, "to_stage_id": to, "match": match, "conditions": conditions})


def _idle(rid: str, to: str, minutes: int) -> IdleRule:
    return IdleRule(id=rid, to_stage_id=to, after_minutes=minutes)


# ---------------------------------------------------------------- ordering


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (0, ["x", "a", "b", "c", "d"]),
        (2, ["a", "b", "x", "c", "d"]),
        (4, ["a", "b", "c", "d", "x"]),
        (99, ["a", "b", "c", "d", "x"]),
        (None, ["a", "b", "c", "d", "x"]),
        (-1, ["x", "a", "b", "c", "d"]),
        (-50, ["x", "a", "b", "c", "d"]),
    ],
)
def test_insert_at(position: int | None, expected: list[str]) -> None:
    original = list(IDS)
    assert insert_at(original, "x", position) == expected
    assert original == IDS  # the input is not mutated


def test_insert_at_into_empty_list() -> None:
    assert insert_at([], "x", 0) == ["x"]
    assert insert_at([], "x", 5) == ["x"]
    assert insert_at([], "x", None) == ["x"]


@pytest.mark.parametrize(
    ("moved", "position", "expected"),
    [
        ("c", 0, ["c", "a", "b", "d"]),
        ("a", 2, ["b", "c", "a", "d"]),
        ("a", 3, ["b", "c", "d", "a"]),
        ("b", 99, ["a", "c", "d", "b"]),
        ("d", -3, ["d", "a", "b", "c"]),
        ("b", 1, ["a", "b", "c", "d"]),  # its own position: nothing changes
        ("d", 3, ["a", "b", "c", "d"]),
        ("a", 0, ["a", "b", "c", "d"]),
    ],
)
def test_move_to(moved: str, position: int, expected: list[str]) -> None:
    original = list(IDS)
    result = move_to(original, moved, position)
    assert result == expected
    assert original == IDS
    assert sorted(result) == sorted(IDS)  # nothing lost, nothing duplicated
    others = [i for i in IDS if i != moved]
    assert [i for i in result if i != moved] == others  # the rest keep their order


# ---------------------------------------------------------------- validate_question


@pytest.mark.parametrize("kind", [QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE])
def test_choice_question_needs_options(kind: QuestionType) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_question(Question(id="q", type=kind, title="Pick"))
    assert caught.value.code == "options_required"
    assert kind.value in caught.value.message


@pytest.mark.parametrize("kind", [QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE])
def test_choice_question_options_must_be_unique(kind: QuestionType) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_question(Question(id="q", type=kind, title="Pick", options=("red", "blue", "red")))
    assert caught.value.code == "duplicate_options"


@pytest.mark.parametrize("kind", [QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE])
def test_choice_question_with_unique_options_is_valid(kind: QuestionType) -> None:
    validate_question(Question(id="q", type=kind, title="Pick", options=("only",)))
    validate_question(Question(id="q", type=kind, title="Pick", options=COLORS))


@pytest.mark.parametrize(
    "kind", [k for k in QuestionType if k not in (QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE)]
)
def test_other_questions_refuse_options(kind: QuestionType) -> None:
    validate_question(Question(id="q", type=kind, title="Ask"))
    with pytest.raises(InvalidInput) as caught:
        validate_question(Question(id="q", type=kind, title="Ask", options=("x",)))
    assert caught.value.code == "options_not_allowed"
    assert kind.value in caught.value.message


# ---------------------------------------------------------------- validate_rule

QUESTIONS = [
    Question(id="name", type=QuestionType.TEXT, title="Name"),
    Question(id="bio", type=QuestionType.LONG_TEXT, title="Bio"),
    Question(id="years", type=QuestionType.NUMBER, title="Years"),
    Question(id="relocate", type=QuestionType.BOOLEAN, title="Relocate?"),
    Question(id="email", type=QuestionType.EMAIL, title="Email"),
    Question(id="site", type=QuestionType.URL, title="Site"),
    Question(id="start", type=QuestionType.DATE, title="Start"),
    Question(id="color", type=QuestionType.SINGLE_CHOICE, title="Color", options=COLORS),
    Question(id="colors", type=QuestionType.MULTI_CHOICE, title="Colors", options=COLORS),
]
QTYPE = {q.id: q.type for q in QUESTIONS}
APP = _application("stg_1", "stg_2", "stg_3")


def _rule_error(rule: AnswerRule | IdleRule) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_rule(rule, _stage(questions=QUESTIONS), APP)
    return caught.value


def _valid(rule: AnswerRule | IdleRule) -> None:
    validate_rule(rule, _stage(questions=QUESTIONS), APP)


def test_rule_targeting_own_stage_is_refused() -> None:
    assert _rule_error(_idle("r", "stg_1", 60)).code == "rule_targets_own_stage"
    error = _rule_error(_answer_rule("r", "stg_1", _cond("relocate", Operator.IS_TRUE)))
    assert error.code == "rule_targets_own_stage"


def test_rule_target_outside_application_is_refused() -> None:
    assert _rule_error(_idle("r", "stg_elsewhere", 60)).code == "rule_target_not_in_application"
    error = _rule_error(_answer_rule("r", "stg_elsewhere", _cond("relocate", Operator.IS_TRUE)))
    assert error.code == "rule_target_not_in_application"


@pytest.mark.parametrize("minutes", [1, 60, 1440, 365 * 1440])
def test_idle_duration_within_bounds(minutes: int) -> None:
    _valid(_idle("r", "stg_2", minutes))


@pytest.mark.parametrize("minutes", [0, -1, -(10**6), 365 * 1440 + 1, 10**9, 10**13, 10**30])
def test_idle_duration_out_of_range(minutes: int) -> None:
    # Also for durations too large for a timedelta: a clear error, never an OverflowError.
    error = _rule_error(_idle("r", "stg_2", minutes))
    assert error.code == "idle_duration_out_of_range"


def test_answer_rule_needs_conditions() -> None:
    assert _rule_error(_answer_rule("r", "stg_2")).code == "conditions_required"


def test_answer_rule_on_unknown_question() -> None:
    error = _rule_error(_answer_rule("r", "stg_2", _cond("ghost", Operator.EQ, "x")))
    assert error.code == "unknown_question"
    assert "ghost" in error.message


def test_every_condition_is_checked_not_just_the_first() -> None:
    rule = _answer_rule("r", "stg_2", _cond("relocate", Operator.IS_TRUE), _cond("ghost", Operator.EQ, "x"))
    assert _rule_error(rule).code == "unknown_question"


@pytest.mark.parametrize("operator", [Operator.IS_TRUE, Operator.IS_FALSE])
@pytest.mark.parametrize("question_id", [q.id for q in QUESTIONS])
def test_is_true_and_is_false_only_on_boolean(operator: Operator, question_id: str) -> None:
    rule = _answer_rule("r", "stg_2", _cond(question_id, operator))
    if QTYPE[question_id] is QuestionType.BOOLEAN:
        _valid(rule)
    else:
        assert _rule_error(rule).code == "operator_not_allowed"


@pytest.mark.parametrize("operator", [Operator.GT, Operator.GTE, Operator.LT, Operator.LTE])
@pytest.mark.parametrize("question_id", [q.id for q in QUESTIONS])
def test_ordering_operators_only_on_number_and_date(operator: Operator, question_id: str) -> None:
    value = "2026-03-01" if QTYPE[question_id] is QuestionType.DATE else 5
    rule = _answer_rule("r", "stg_2", _cond(question_id, operator, value))
    if QTYPE[question_id] in (QuestionType.NUMBER, QuestionType.DATE):
        _valid(rule)
    else:
        assert _rule_error(rule).code == "operator_not_allowed"


@pytest.mark.parametrize("question_id", [q.id for q in QUESTIONS])
def test_contains_only_on_text_long_text_and_multi_choice(question_id: str) -> None:
    rule = _answer_rule("r", "stg_2", _cond(question_id, Operator.CONTAINS, "red"))
    if QTYPE[question_id] in (QuestionType.TEXT, QuestionType.LONG_TEXT, QuestionType.MULTI_CHOICE):
        _valid(rule)
    else:
        assert _rule_error(rule).code == "operator_not_allowed"


@pytest.mark.parametrize(
    ("question_id", "operator", "value"),
    [
        ("name", Operator.CONTAINS, "Ada\r\nBcc: x"),
        ("name", Operator.CONTAINS, "\u202e"),
        ("bio", Operator.CONTAINS, "a\x00"),
        ("name", Operator.EQ, "Ada\nLovelace"),
        ("bio", Operator.EQ, "\ud800"),
        ("name", Operator.IN, ["fine", "a\u2066b"]),
    ],
)
def test_condition_values_follow_the_text_rules(question_id: str, operator: Operator, value: Any) -> None:
    error = _rule_error(_answer_rule("r", "stg_2", _cond(question_id, operator, value)))
    assert error.code == "condition_value_invalid"
    assert "must" in error.message


def test_contains_on_long_text_may_look_for_a_line_break() -> None:
    _valid(_answer_rule("r", "stg_2", _cond("bio", Operator.CONTAINS, "line\nbreak")))


@pytest.mark.parametrize("operator", [Operator.IS_TRUE, Operator.IS_FALSE])
@pytest.mark.parametrize("value", ["\ud800", "yes", 1, {"a": 1}])
def test_is_true_and_is_false_take_no_value(operator: Operator, value: Any) -> None:
    error = _rule_error(_answer_rule("r", "stg_2", _cond("relocate", operator, value)))
    assert error.code == "condition_value_invalid"
    _valid(_answer_rule("r", "stg_2", _cond("relocate", operator, True)))


@pytest.mark.parametrize("operator", [Operator.IN, Operator.NOT_IN])
@pytest.mark.parametrize("value", ["red", None, 3, ("red",), {"red": 1}])
def test_in_and_not_in_need_a_list(operator: Operator, value: Any) -> None:
    error = _rule_error(_answer_rule("r", "stg_2", _cond("color", operator, value)))
    assert error.code == "condition_value_invalid"
    assert "list" in error.message


@pytest.mark.parametrize("operator", [Operator.IN, Operator.NOT_IN])
def test_in_and_not_in_with_a_list_are_valid(operator: Operator) -> None:
    _valid(_answer_rule("r", "stg_2", _cond("color", operator, ["red", "blue"])))


@pytest.mark.parametrize("operator", [Operator.EQ, Operator.NEQ, Operator.CONTAINS, Operator.GT])
def test_binary_operators_need_a_value(operator: Operator) -> None:
    question_id = "years" if operator is Operator.GT else "name"
    error = _rule_error(_answer_rule("r", "stg_2", _cond(question_id, operator, None)))
    assert error.code == "condition_value_invalid"


def test_a_valid_answer_rule_and_idle_rule_pass() -> None:
    _valid(
        _answer_rule(
            "r",
            "stg_3",
            _cond("years", Operator.GTE, 3),
            _cond("colors", Operator.CONTAINS, "red"),
            _cond("relocate", Operator.IS_FALSE),
            match="any",
        )
    )
    _valid(_idle("r", "stg_3", 7 * 1440))


# ---------------------------------------------------------------- condition_holds


@pytest.mark.parametrize(
    ("operator", "expected", "answer", "holds"),
    [
        # eq / neq: text equality ignores case
        (Operator.EQ, "Red", "red", True),
        (Operator.EQ, "red", "RED", True),
        (Operator.EQ, "red", "blue", False),
        (Operator.EQ, 3, 3, True),
        (Operator.EQ, 3, 3.0, True),
        (Operator.EQ, 3, 4, False),
        (Operator.EQ, True, True, True),
        (Operator.EQ, "2026-01-05", "2026-01-05", True),
        (Operator.NEQ, "Red", "red", False),
        (Operator.NEQ, "red", "blue", True),
        (Operator.NEQ, 3, 4, True),
        # in / not_in
        (Operator.IN, ["Red", "Blue"], "blue", True),
        (Operator.IN, ["red", "blue"], "green", False),
        (Operator.IN, [1, 2, 3], 2, True),
        (Operator.IN, [], "red", False),
        (Operator.NOT_IN, ["Red", "Blue"], "blue", False),
        (Operator.NOT_IN, ["red", "blue"], "green", True),
        (Operator.NOT_IN, [], "red", True),
        # ordering on numbers
        (Operator.GT, 5, 6, True),
        (Operator.GT, 5, 5, False),
        (Operator.GTE, 5, 5, True),
        (Operator.GTE, 5, 4.5, False),
        (Operator.LT, 5, 4, True),
        (Operator.LT, 5, 5, False),
        (Operator.LTE, 5, 5, True),
        (Operator.LTE, 5, 6, False),
        (Operator.GT, 2.5, 3, True),
        # contains on text (case-insensitive substring) and on lists (membership)
        (Operator.CONTAINS, "python", "I write Python daily", True),
        (Operator.CONTAINS, "rust", "I write Python daily", False),
        (Operator.CONTAINS, "Red", ["red", "blue"], True),
        (Operator.CONTAINS, "green", ["red", "blue"], False),
        (Operator.CONTAINS, "re", ["red", "blue"], False),  # list: whole option, not a substring
        # is_true / is_false only on real booleans
        (Operator.IS_TRUE, None, True, True),
        (Operator.IS_TRUE, None, False, False),
        (Operator.IS_TRUE, None, 1, False),
        (Operator.IS_TRUE, None, "true", False),
        (Operator.IS_FALSE, None, False, True),
        (Operator.IS_FALSE, None, True, False),
        (Operator.IS_FALSE, None, 0, False),
    ],
)
def test_condition_holds(operator: Operator, expected: Any, answer: Any, holds: bool) -> None:
    assert condition_holds(_cond("q", operator, expected), answer) is holds


@pytest.mark.parametrize(
    ("operator", "expected", "holds"),
    [
        (Operator.EQ, "x", False),
        (Operator.NEQ, "x", True),
        (Operator.IN, ["x"], False),
        (Operator.NOT_IN, ["x"], True),
        (Operator.GT, 1, False),
        (Operator.GTE, 1, False),
        (Operator.LT, 1, False),
        (Operator.LTE, 1, False),
        (Operator.CONTAINS, "x", False),
        (Operator.IS_TRUE, None, False),
        (Operator.IS_FALSE, None, False),
    ],
)
def test_condition_on_missing_answer(operator: Operator, expected: Any, holds: bool) -> None:
    assert condition_holds(_cond("q", operator, expected), None) is holds


@pytest.mark.parametrize(
    ("operator", "expected", "answer", "holds"),
    [
        (Operator.GT, "2026-09-30", "2026-10-01", True),
        (Operator.LT, "2026-10-01", "2026-09-30", True),
        (Operator.GT, "2025-12-31", "2026-01-01", True),
        (Operator.GTE, "2026-01-05", "2026-01-05", True),
        (Operator.LTE, "2026-01-04", "2026-01-05", False),
        (Operator.EQ, "2026-01-05", "2026-01-05", True),
        (Operator.IN, ["2026-01-05", "2026-02-01"], "2026-02-01", True),
        # As text "2026-01-05" sorts before "20260104" ("-" < "0"); as dates it is the later day.
        (Operator.GT, "20260104", "2026-01-05", True),
        (Operator.LT, "20260104", "2026-01-05", False),
        (Operator.EQ, "20260105", "2026-01-05", True),
    ],
)
def test_dates_compare_as_dates(operator: Operator, expected: Any, answer: Any, holds: bool) -> None:
    assert condition_holds(_cond("start", operator, expected), answer) is holds


def test_date_ordering_over_a_range_of_days() -> None:
    pivot = date(2026, 1, 1)
    for offset in range(-40, 40):
        day = pivot + timedelta(days=offset)
        answer = day.isoformat()
        assert condition_holds(_cond("start", Operator.GTE, "2026-01-01"), answer) is (day >= pivot)
        assert condition_holds(_cond("start", Operator.GT, "2026-01-01"), answer) is (day > pivot)
        assert condition_holds(_cond("start", Operator.LT, "2026-01-01"), answer) is (day < pivot)
        assert condition_holds(_cond("start", Operator.LTE, "2026-01-01"), answer) is (day <= pivot)


@pytest.mark.parametrize("operator", [Operator.GT, Operator.GTE, Operator.LT, Operator.LTE])
@pytest.mark.parametrize(
    ("expected", "answer"), [("abc", 5), (5, "abc"), ("2026-01-01", 5), (5, "2026-01-01")]
)
def test_number_against_text_does_not_raise(operator: Operator, expected: Any, answer: Any) -> None:
    assert condition_holds(_cond("q", operator, expected), answer) is False


def test_eq_between_number_and_text_is_false_not_an_error() -> None:
    assert condition_holds(_cond("q", Operator.EQ, "5"), 5) is False
    assert condition_holds(_cond("q", Operator.NEQ, "5"), 5) is True


# ---------------------------------------------------------------- answer_rule_target

SCREEN = [
    Question(id="years", type=QuestionType.NUMBER, title="Years"),
    Question(id="relocate", type=QuestionType.BOOLEAN, title="Relocate?"),
    Question(id="notes", type=QuestionType.TEXT, title="Notes", required=False),
]


def test_first_matching_rule_wins_in_order() -> None:
    senior = _answer_rule("senior", "stg_senior", _cond("years", Operator.GTE, 5))
    any_exp = _answer_rule("any", "stg_any", _cond("years", Operator.GTE, 1))
    stage = _stage(questions=SCREEN, rules=[senior, any_exp])
    assert answer_rule_target(stage, {"years": 8, "relocate": True}) == senior
    assert answer_rule_target(stage, {"years": 2, "relocate": True}) == any_exp
    assert answer_rule_target(stage, {"years": 0, "relocate": True}) is None
    # the same rules the other way round: the broader one now wins
    reversed_stage = _stage(questions=SCREEN, rules=[any_exp, senior])
    assert answer_rule_target(reversed_stage, {"years": 8, "relocate": True}) == any_exp


def test_incomplete_stage_has_no_target_even_when_conditions_hold() -> None:
    rule = _answer_rule("r", "stg_2", _cond("years", Operator.GTE, 5))
    stage = _stage(questions=SCREEN, rules=[rule])
    assert answer_rule_target(stage, {"years": 9}) is None  # relocate (required) unanswered
    assert answer_rule_target(stage, {"years": 9, "relocate": None}) is None
    assert answer_rule_target(stage, {"years": 9, "relocate": False}) == rule


def test_match_all_needs_every_condition() -> None:
    rule = _answer_rule(
        "r", "stg_2", _cond("years", Operator.GTE, 5), _cond("relocate", Operator.IS_TRUE), match="all"
    )
    stage = _stage(questions=SCREEN, rules=[rule])
    assert answer_rule_target(stage, {"years": 6, "relocate": True}) == rule
    assert answer_rule_target(stage, {"years": 6, "relocate": False}) is None
    assert answer_rule_target(stage, {"years": 2, "relocate": True}) is None


def test_match_any_needs_one_condition() -> None:
    rule = _answer_rule(
        "r", "stg_2", _cond("years", Operator.GTE, 5), _cond("relocate", Operator.IS_TRUE), match="any"
    )
    stage = _stage(questions=SCREEN, rules=[rule])
    assert answer_rule_target(stage, {"years": 6, "relocate": False}) == rule
    assert answer_rule_target(stage, {"years": 2, "relocate": True}) == rule
    assert answer_rule_target(stage, {"years": 2, "relocate": False}) is None


def test_optional_unanswered_question_in_conditions() -> None:
    no_notes = _answer_rule("r", "stg_2", _cond("notes", Operator.NEQ, "urgent"))
    stage = _stage(questions=SCREEN, rules=[no_notes])
    assert answer_rule_target(stage, {"years": 1, "relocate": True}) == no_notes
    assert answer_rule_target(stage, {"years": 1, "relocate": True, "notes": "URGENT"}) is None


def test_idle_rules_are_ignored_by_answer_rule_target() -> None:
    stage = _stage(questions=SCREEN, rules=[_idle("idle", "stg_2", 1)])
    assert answer_rule_target(stage, {"years": 1, "relocate": True}) is None
    answer = _answer_rule("r", "stg_3", _cond("relocate", Operator.IS_TRUE))
    stage = _stage(questions=SCREEN, rules=[_idle("idle", "stg_2", 1), answer])
    assert answer_rule_target(stage, {"years": 1, "relocate": True}) == answer


def test_stage_without_questions_matches_on_conditions_alone() -> None:
    rule = _answer_rule("r", "stg_2", _cond("x", Operator.NEQ, "y"))
    assert answer_rule_target(_stage(rules=[rule]), {}) == rule


# ---------------------------------------------------------------- idle_deadline


def test_idle_deadline_without_idle_rules() -> None:
    assert idle_deadline(_stage(), NOW) is None
    answer = _answer_rule("r", "stg_2", _cond("years", Operator.GT, 1))
    assert idle_deadline(_stage(questions=SCREEN, rules=[answer]), NOW) is None


def test_idle_deadline_single_rule() -> None:
    rule = _idle("i1", "stg_2", 90)
    assert idle_deadline(_stage(rules=[rule]), NOW) == (NOW + timedelta(minutes=90), rule)


def test_idle_deadline_is_the_earliest() -> None:
    slow, fast, mid = _idle("slow", "stg_2", 3 * 1440), _idle("fast", "stg_3", 30), _idle("mid", "stg_2", 600)
    answer = _answer_rule("r", "stg_2", _cond("years", Operator.GT, 1))
    stage = _stage(questions=SCREEN, rules=[slow, answer, fast, mid])
    assert idle_deadline(stage, NOW) == (NOW + timedelta(minutes=30), fast)


def test_idle_deadline_tie_goes_to_the_first_in_order() -> None:
    first, second = _idle("first", "stg_2", 60), _idle("second", "stg_3", 60)
    result = idle_deadline(_stage(rules=[_idle("later", "stg_2", 120), first, second]), NOW)
    assert result is not None
    assert result[1].id == "first"
    result = idle_deadline(_stage(rules=[second, first]), NOW)
    assert result is not None
    assert result[1].id == "second"


# ---------------------------------------------------------------- rules_targeting


def test_rules_targeting() -> None:
    r1 = _idle("r1", "stg_3", 60)
    r2 = _answer_rule("r2", "stg_3", _cond("relocate", Operator.IS_TRUE))
    r3 = _idle("r3", "stg_1", 60)
    r4 = _idle("r4", "stg_3", 120)
    one = _stage("stg_1", questions=SCREEN, rules=[r1, r2])
    two = _stage("stg_2", rules=[r3, r4])
    three = _stage("stg_3")
    found = rules_targeting([one, two, three], "stg_3")
    assert [(stage.id, rule.id) for stage, rule in found] == [
        ("stg_1", "r1"),
        ("stg_1", "r2"),
        ("stg_2", "r4"),
    ]
    assert [(s.id, r.id) for s, r in rules_targeting([one, two, three], "stg_1")] == [("stg_2", "r3")]
    assert rules_targeting([one, two, three], "stg_2") == []
    assert rules_targeting([], "stg_3") == []
