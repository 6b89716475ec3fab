"""Applications, stages and rules: the model and its pure rules (questions and their types:
domain/questions.py).

A stage asks questions and carries rules, evaluated in order, first match wins:
- an answer rule moves an applicant who completed the stage (every required question answered)
  and whose answers meet its conditions;
- an idle rule moves an applicant who has not completed the stage within a duration.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from plutomi.domain.errors import Conflict, InvalidInput
from plutomi.domain.models import OrgItem
from plutomi.domain.questions import (
    QUESTION_TYPES,
    Frozen,
    Operator,
    Question,
    answered,
    coerce_answer,
    types_taking,
)

MAX_STAGES = 200
MAX_QUESTIONS_PER_STAGE = 100
MAX_RULES_PER_STAGE = 50
MIN_IDLE = timedelta(minutes=1)
MAX_IDLE = timedelta(days=365)


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Condition(Frozen):
    question_id: str
    operator: Operator
    value: Any = None


class AnswerRule(Frozen):
    id: str
    kind: Literal["answer"] = "answer"
    to_stage_id: str
    match: Literal["all", "any"] = "all"
    conditions: tuple[Condition, ...]


class IdleRule(Frozen):
    id: str
    kind: Literal["idle"] = "idle"
    to_stage_id: str
    after_minutes: int


Rule = Annotated[AnswerRule | IdleRule, Field(discriminator="kind")]


class Application(OrgItem):
    TYPE = "application"
    name: str
    description: str = ""
    status: ApplicationStatus = ApplicationStatus.DRAFT
    stage_ids: list[str] = Field(default_factory=list)
    version: int = 0


class Stage(OrgItem):
    TYPE = "stage"
    application_id: str
    name: str
    questions: list[Question] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    version: int = 0

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def idle_rules(self) -> list[IdleRule]:
        return [rule for rule in self.rules if isinstance(rule, IdleRule)]

    def answer_rules(self) -> list[AnswerRule]:
        return [rule for rule in self.rules if isinstance(rule, AnswerRule)]


# ---------------------------------------------------------------- ordering


def insert_at(ids: list[str], new_id: str, position: int | None) -> list[str]:
    """`position` is 0-based; None or past the end appends."""
    ordered = list(ids)
    index = len(ordered) if position is None else max(0, min(position, len(ordered)))
    ordered.insert(index, new_id)
    return ordered


def move_to(ids: list[str], moved_id: str, position: int) -> list[str]:
    ordered = [i for i in ids if i != moved_id]
    return insert_at(ordered, moved_id, position)


# ---------------------------------------------------------------- questions and answers


def validate_answers(stage: Stage, submitted: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Valid answers in stored form, and a message per field for the rest."""
    accepted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question_id, value in submitted.items():
        question = stage.question(question_id)
        if question is None:
            errors[question_id] = "is not a question of this stage"
            continue
        if not answered(value.strip() if isinstance(value, str) else value):
            if question.required:
                errors[question_id] = "is required"
            else:
                accepted[question_id] = None
            continue
        stored, problem = coerce_answer(question, value)
        if problem:
            errors[question_id] = problem
        else:
            accepted[question_id] = stored
    return accepted, errors


def is_complete(stage: Stage, answers: dict[str, Any]) -> bool:
    return all(answered(answers.get(q.id)) for q in stage.questions if q.required)


# ---------------------------------------------------------------- rules


def validate_rule(rule: AnswerRule | IdleRule, stage: Stage, application: Application) -> None:
    if rule.to_stage_id == stage.id:
        raise InvalidInput("rule_targets_own_stage", "A rule cannot move people to the stage they are in")
    if rule.to_stage_id not in application.stage_ids:
        raise InvalidInput(
            "rule_target_not_in_application", "A rule can only move people to a stage of this application"
        )
    if isinstance(rule, IdleRule):
        # Compared in minutes: a huge after_minutes would overflow timedelta.
        if not MIN_IDLE // timedelta(minutes=1) <= rule.after_minutes <= MAX_IDLE // timedelta(minutes=1):
            raise InvalidInput(
                "idle_duration_out_of_range", "An idle rule waits between 1 minute and 365 days"
            )
        return
    if not rule.conditions:
        raise InvalidInput("conditions_required", "An answer rule needs at least one condition")
    for condition in rule.conditions:
        question = stage.question(condition.question_id)
        if question is None:
            raise InvalidInput(
                "unknown_question", f"{condition.question_id!r} is not a question of this stage"
            )
        _validate_condition(condition, question)


def _validate_condition(condition: Condition, question: Question) -> None:
    operator, kind = condition.operator, QUESTION_TYPES[question.type]
    if operator not in kind.operators:
        raise InvalidInput(
            "operator_not_allowed",
            f"{operator.value} applies to {', '.join(types_taking(operator))} questions only; "
            f"a {question.type.value} question takes {', '.join(o for o in Operator if o in kind.operators)}",
        )
    if operator is Operator.IS_PRESENT:
        if condition.value is not None:
            raise InvalidInput("condition_value_invalid", "is_present takes no value")
        return
    if operator in (Operator.IS_TRUE, Operator.IS_FALSE):
        if condition.value is not None and not isinstance(condition.value, bool):
            # Kept with the rule, though never compared: nothing but what the operator could mean.
            raise InvalidInput("condition_value_invalid", f"{operator.value} takes no value")
        return
    if operator in (Operator.IN, Operator.NOT_IN) and not isinstance(condition.value, list):
        raise InvalidInput("condition_value_invalid", f"{operator.value} needs a list of values")
    if condition.value is None:
        raise InvalidInput("condition_value_invalid", f"{operator.value} needs a value")
    values = condition.value if operator in (Operator.IN, Operator.NOT_IN) else [condition.value]
    for value in values:
        problem = kind.compared(question, operator, value)
        if problem is not None:
            raise InvalidInput("condition_value_invalid", problem)


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value.casefold()
    return value


def condition_holds(condition: Condition, answer: Any) -> bool:
    operator, expected = condition.operator, condition.value
    if operator is Operator.IS_PRESENT:
        return answered(answer)
    if operator is Operator.IS_TRUE:
        return answer is True
    if operator is Operator.IS_FALSE:
        return answer is False
    if answer is None:
        return operator in (Operator.NEQ, Operator.NOT_IN)
    try:
        if operator is Operator.EQ:
            return bool(_comparable(answer) == _comparable(expected))
        if operator is Operator.NEQ:
            return bool(_comparable(answer) != _comparable(expected))
        if operator is Operator.IN:
            return _comparable(answer) in [_comparable(v) for v in expected]
        if operator is Operator.NOT_IN:
            return _comparable(answer) not in [_comparable(v) for v in expected]
        if operator is Operator.CONTAINS:
            if isinstance(answer, list):
                return _comparable(expected) in [_comparable(v) for v in answer]
            return str(expected).casefold() in str(answer).casefold()
        left, right = _comparable(answer), _comparable(expected)
        if operator is Operator.GT:
            return bool(left > right)
        if operator is Operator.GTE:
            return bool(left >= right)
        if operator is Operator.LT:
            return bool(left < right)
        return bool(left <= right)
    except TypeError:  # e.g. a number compared with text: the condition does not hold
        return False


def answer_rule_target(stage: Stage, answers: dict[str, Any]) -> AnswerRule | None:
    """The first answer rule that matches a completed stage's answers."""
    if not is_complete(stage, answers):
        return None
    for rule in stage.answer_rules():
        results = [condition_holds(c, answers.get(c.question_id)) for c in rule.conditions]
        if all(results) if rule.match == "all" else any(results):
            return rule
    return None


def idle_deadline(stage: Stage, entered_at: datetime) -> tuple[datetime, IdleRule] | None:
    """When the first-firing idle rule of the stage moves someone who entered at `entered_at`."""
    best: tuple[datetime, IdleRule] | None = None
    for rule in stage.idle_rules():
        deadline = entered_at + timedelta(minutes=rule.after_minutes)
        if best is None or deadline < best[0]:
            best = (deadline, rule)
    return best


def rules_targeting(stages: list[Stage], stage_id: str) -> list[tuple[Stage, AnswerRule | IdleRule]]:
    return [(stage, rule) for stage in stages for rule in stage.rules if rule.to_stage_id == stage_id]


def require_open_for_applicants(application: Application) -> None:
    if application.status is not ApplicationStatus.OPEN:
        raise Conflict("application_not_open", "This application is not accepting applicants")
