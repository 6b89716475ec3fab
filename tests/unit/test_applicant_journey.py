"""Unit tests for plutomi.domain.applicants: entering a stage and the visit history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from pydantic import ValidationError

from plutomi.domain.applicants import (
    Applicant,
    StageVisit,
    entering,
    history_after_move,
    history_closed,
)
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import AnswerRule, Condition, IdleRule, Rule, Stage
from plutomi.domain.questions import Operator, Question, QuestionType

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=3)
T2 = T0 + timedelta(days=2)
APPLICANT = Mover(kind="applicant", id="apl_1")
RECRUITER = Mover(kind="user", id="usr_1")
RULE = Mover(kind="rule", id="rul_1")
SWEEPER = Mover(kind="sweeper")


def _stage(sid: str, rules: list[Rule] | None = None) -> Stage:
    return Stage(
        id=sid,
        org_id="acme",
        application_id="app_1",
        name=f"Stage {sid}",
        questions=[Question(id="ok", type=QuestionType.BOOLEAN, title="OK?")],
        rules=rules or [],
        created_at=T0,
        updated_at=T0,
    )


def _answer_rule(rid: str, to: str) -> AnswerRule:
    condition = Condition(question_id="ok", operator=Operator.IS_TRUE)
    return AnswerRule(id=rid, to_stage_id=to, conditions=(condition,))


# ---------------------------------------------------------------- entering


def test_entering_a_stage_with_an_idle_rule() -> None:
    rule = IdleRule(id="idle_1", to_stage_id="stg_2", after_minutes=60 * 24)
    changes = entering(_stage("stg_1", [rule]), T1, RECRUITER)
    assert changes == {
        "stage_id": "stg_1",
        "stage_entered_at": T1,
        "idle_deadline": T1 + timedelta(days=1),
        "idle_rule_id": "idle_1",
    }


def test_entering_uses_the_earliest_idle_rule() -> None:
    rules: list[Rule] = [
        IdleRule(id="week", to_stage_id="stg_2", after_minutes=7 * 1440),
        _answer_rule("ans", "stg_3"),
        IdleRule(id="hour", to_stage_id="stg_3", after_minutes=60),
        IdleRule(id="hour_too", to_stage_id="stg_2", after_minutes=60),
    ]
    changes = entering(_stage("stg_1", rules), T0, SWEEPER)
    assert changes["idle_deadline"] == T0 + timedelta(hours=1)
    assert changes["idle_rule_id"] == "hour"


@pytest.mark.parametrize("rules", [[], [_answer_rule("ans", "stg_2")]])
def test_entering_a_stage_without_idle_rules(rules: list[Rule]) -> None:
    changes = entering(_stage("stg_1", rules), T2, APPLICANT)
    assert changes == {
        "stage_id": "stg_1",
        "stage_entered_at": T2,
        "idle_deadline": None,
        "idle_rule_id": None,
    }


def test_entering_changes_apply_to_an_applicant() -> None:
    applicant = Applicant(
        id="apl_1",
        org_id="acme",
        application_id="app_1",
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        stage_id="stg_1",
        stage_entered_at=T0,
        idle_deadline=T0 + timedelta(minutes=5),
        idle_rule_id="old",
        created_at=T0,
        updated_at=T0,
    )
    moved = applicant.model_copy(update=entering(_stage("stg_2"), T1, RULE))
    assert (moved.stage_id, moved.stage_entered_at, moved.idle_deadline, moved.idle_rule_id) == (
        "stg_2",
        T1,
        None,
        None,
    )
    assert moved.first_name == "Ada"


# ---------------------------------------------------------------- history


def test_first_move_opens_a_visit() -> None:
    history = history_after_move([], "stg_1", T0, APPLICANT)
    assert history == [StageVisit(stage_id="stg_1", entered_at=T0, entered_by=APPLICANT)]
    assert history[0].exited_at is None
    assert history[0].exited_by is None


def test_move_closes_the_open_visit_and_opens_a_new_one() -> None:
    first = history_after_move([], "stg_1", T0, APPLICANT)
    second = history_after_move(first, "stg_2", T1, RULE)
    assert second == [
        StageVisit(stage_id="stg_1", entered_at=T0, entered_by=APPLICANT, exited_at=T1, exited_by=RULE),
        StageVisit(stage_id="stg_2", entered_at=T1, entered_by=RULE),
    ]
    # the input list and its visits are untouched
    assert first == [StageVisit(stage_id="stg_1", entered_at=T0, entered_by=APPLICANT)]


def test_closed_visits_stay_as_they_were() -> None:
    closed = StageVisit(stage_id="stg_1", entered_at=T0, entered_by=APPLICANT, exited_at=T1, exited_by=RULE)
    open_visit = StageVisit(stage_id="stg_2", entered_at=T1, entered_by=RULE)
    third = history_after_move([closed, open_visit], "stg_1", T2, RECRUITER)
    assert third == [
        closed,
        StageVisit(stage_id="stg_2", entered_at=T1, entered_by=RULE, exited_at=T2, exited_by=RECRUITER),
        StageVisit(stage_id="stg_1", entered_at=T2, entered_by=RECRUITER),
    ]
    assert third[0].exited_at == T1 and third[0].exited_by == RULE
    assert [v.exited_at is None for v in third] == [False, False, True]


def test_a_long_journey_keeps_exactly_one_open_visit() -> None:
    history: list[StageVisit] = []
    stages = ["stg_1", "stg_2", "stg_3", "stg_2", "stg_4"]
    movers = [APPLICANT, RULE, SWEEPER, RECRUITER, RULE]
    for step, (stage_id, by) in enumerate(zip(stages, movers, strict=True)):
        history = history_after_move(history, stage_id, T0 + timedelta(hours=step), by)
    assert [v.stage_id for v in history] == stages
    assert [v.exited_at is None for v in history] == [False, False, False, False, True]
    for earlier, later in pairwise(history):
        # each visit ends when, and by whom, the next one starts
        assert earlier.exited_at == later.entered_at
        assert earlier.exited_by == later.entered_by


def test_history_closed_closes_only_open_visits() -> None:
    closed = StageVisit(stage_id="stg_1", entered_at=T0, entered_by=APPLICANT, exited_at=T1, exited_by=RULE)
    open_visit = StageVisit(stage_id="stg_2", entered_at=T1, entered_by=RULE)
    result = history_closed([closed, open_visit], T2, SWEEPER)
    assert result == [
        closed,
        StageVisit(stage_id="stg_2", entered_at=T1, entered_by=RULE, exited_at=T2, exited_by=SWEEPER),
    ]
    assert len(result) == 2  # no new visit
    assert open_visit.exited_at is None  # the original is not modified


def test_history_closed_on_empty_and_already_closed_history() -> None:
    assert history_closed([], T2, SWEEPER) == []
    closed = StageVisit(stage_id="stg_1", entered_at=T0, entered_by=APPLICANT, exited_at=T1, exited_by=RULE)
    assert history_closed([closed], T2, SWEEPER) == [closed]


def test_visits_are_frozen() -> None:
    visit = StageVisit(stage_id="stg_1", entered_at=T0, entered_by=APPLICANT)
    with pytest.raises(ValidationError):
        visit.exited_at = T1  # type: ignore[misc]
