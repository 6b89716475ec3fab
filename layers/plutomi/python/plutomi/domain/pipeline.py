"""Applications, stages, questions and rules: the model and its pure rules.

A stage asks questions and carries rules, evaluated in order, first match wins:
- an answer rule moves an applicant who completed the stage (every required question answered)
  and whose answers meet its conditions;
- an idle rule moves an applicant who has not completed the stage within a duration.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from plutomi.domain import file_types
from plutomi.domain.errors import Conflict, InvalidInput
from plutomi.domain.models import OrgItem
from plutomi.domain.text import TextRejected, check_text, text_problem

MAX_STAGES = 200
MAX_QUESTIONS_PER_STAGE = 100
MAX_RULES_PER_STAGE = 50
MIN_IDLE = timedelta(minutes=1)
MAX_IDLE = timedelta(days=365)


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    EMAIL = "email"
    URL = "url"
    DATE = "date"
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    FILE = "file"  # documents the applicant uploads (answers name the uploads: domain/file_types.py)


CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE})


class Operator(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    CONTAINS = "contains"
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"
    IS_PRESENT = "is_present"  # the question was answered (for a file question: a file is uploaded)


UNARY_OPERATORS = frozenset({Operator.IS_TRUE, Operator.IS_FALSE})
ORDERING_OPERATORS = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Question(Frozen):
    id: str
    type: QuestionType
    title: str
    help_text: str = ""
    required: bool = True
    options: tuple[str, ...] = ()
    # File questions only: the accepted content types, the largest file, and whether several files
    # may be given.
    accepts: tuple[str, ...] = ()
    max_size_bytes: int | None = None
    multiple: bool = False

    @property
    def accepted_types(self) -> tuple[str, ...]:
        return self.accepts or file_types.DEFAULT_ACCEPTED

    @property
    def max_file_bytes(self) -> int:
        return self.max_size_bytes or file_types.DEFAULT_MAX_FILE_BYTES


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


def validate_question(question: Question) -> None:
    if question.type in CHOICE_TYPES:
        if len(question.options) < 1:
            raise InvalidInput(
                "options_required", f"A {question.type.value} question needs at least one option"
            )
        if len(set(question.options)) != len(question.options):
            raise InvalidInput("duplicate_options", "Each option must be different")
    elif question.options:
        raise InvalidInput("options_not_allowed", f"A {question.type.value} question takes no options")
    if question.type is QuestionType.FILE:
        unknown = [t for t in question.accepts if t not in file_types.FILE_TYPES]
        if unknown or len(set(question.accepts)) != len(question.accepts):
            raise InvalidInput(
                "file_type_not_allowed",
                f"accepts takes each of {', '.join(file_types.FILE_TYPES)} at most once",
            )
        if (
            question.max_size_bytes is not None
            and not 1 <= question.max_size_bytes <= file_types.MAX_FILE_BYTES
        ):
            raise InvalidInput(
                "file_size_out_of_range",
                f"max_size_bytes is between 1 and {file_types.MAX_FILE_BYTES} "
                f"({file_types.megabytes(file_types.MAX_FILE_BYTES)})",
            )
    elif question.accepts or question.max_size_bytes is not None or question.multiple:
        raise InvalidInput(
            "file_settings_not_allowed",
            f"accepts, max_size_bytes and multiple are for file questions, not {question.type.value}",
        )


EMAIL_ANSWER = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_ANSWER = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
DATE_ANSWER = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
INT64_LIMIT = 2**63


def coerce_answer(question: Question, value: Any) -> tuple[Any, str | None]:
    """The stored form of an answer, or an error message a person can act on."""
    kind = question.type
    if kind in (QuestionType.TEXT, QuestionType.LONG_TEXT):
        if not isinstance(value, str):
            return None, "must be text"
        multiline = kind is QuestionType.LONG_TEXT
        try:
            text = check_text(value, multiline=multiline)
        except TextRejected as rejected:
            return None, rejected.message
        limit = 10_000 if multiline else 500
        return (text, None) if len(text) <= limit else (None, f"must be at most {limit} characters")
    if kind is QuestionType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None, "must be a number"
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None, "must be a number"
        if not number.is_finite():
            return None, "must be a finite number"
        # An int only within 64 bits: MongoDB stores no wider, and int("1e999999999") would never finish.
        if -INT64_LIMIT <= number < INT64_LIMIT and number == number.to_integral_value():
            return int(number), None
        as_float = float(number)
        return (as_float, None) if math.isfinite(as_float) else (None, "must be a finite number")
    if kind is QuestionType.BOOLEAN:
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind in (QuestionType.EMAIL, QuestionType.URL) and isinstance(value, str):
        # Addresses and links are shown to recruiters: no hidden or reordering characters either.
        problem = text_problem(value)
        if problem is not None:
            return None, problem
    if kind is QuestionType.EMAIL:
        ok = isinstance(value, str) and EMAIL_ANSWER.match(value.strip()) is not None
        return (value.strip().lower(), None) if ok else (None, "must be an email address")
    if kind is QuestionType.URL:
        ok = isinstance(value, str) and URL_ANSWER.match(value.strip()) is not None
        return (value.strip(), None) if ok else (None, "must be an http(s) URL")
    if kind is QuestionType.DATE:
        if isinstance(value, str) and DATE_ANSWER.fullmatch(value):  # not 20260201 nor 2026-W05-1
            try:
                return date.fromisoformat(value).isoformat(), None
            except ValueError:
                pass
        return None, "must be a date as YYYY-MM-DD"
    if kind is QuestionType.FILE:
        # The ids of the uploads the answer names; the service checks each upload before it counts.
        ids = value if isinstance(value, list) else [value]
        if not ids or not all(isinstance(i, str) and i.startswith("doc_") and len(i) <= 40 for i in ids):
            return None, "must name an upload (the document id from the upload request)"
        if len(ids) > (file_types.MAX_FILES_PER_QUESTION if question.multiple else 1):
            return None, (
                f"takes at most {file_types.MAX_FILES_PER_QUESTION} files"
                if question.multiple
                else "takes one file"
            )
        return list(dict.fromkeys(ids)), None
    if kind is QuestionType.SINGLE_CHOICE:
        ok = isinstance(value, str) and value in question.options
        return (value, None) if ok else (None, f"must be one of: {', '.join(question.options)}")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, "must be a list of options"
    unknown = [v for v in value if v not in question.options]
    if unknown:
        return None, f"unknown option(s) {', '.join(unknown)}; choose from: {', '.join(question.options)}"
    return sorted(set(value), key=question.options.index), None


def validate_answers(stage: Stage, submitted: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Valid answers in stored form, and a message per field for the rest."""
    accepted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question_id, value in submitted.items():
        question = stage.question(question_id)
        if question is None:
            errors[question_id] = "is not a question of this stage"
            continue
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
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
    return all(answers.get(q.id) not in (None, "", []) for q in stage.questions if q.required)


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
    operator = condition.operator
    if operator is Operator.IS_PRESENT:
        if condition.value is not None:
            raise InvalidInput("condition_value_invalid", "is_present takes no value")
        return
    if question.type is QuestionType.FILE:
        raise InvalidInput("operator_not_allowed", "A file question takes is_present only")
    if operator in UNARY_OPERATORS:
        if question.type is not QuestionType.BOOLEAN:
            raise InvalidInput("operator_not_allowed", f"{operator.value} applies to boolean questions only")
        if condition.value is not None and not isinstance(condition.value, bool):
            # Kept with the rule, though never compared: nothing but what the operator could mean.
            raise InvalidInput("condition_value_invalid", f"{operator.value} takes no value")
        return
    if operator in ORDERING_OPERATORS and question.type not in (QuestionType.NUMBER, QuestionType.DATE):
        raise InvalidInput(
            "operator_not_allowed", f"{operator.value} applies to number and date questions only"
        )
    if operator in (Operator.IN, Operator.NOT_IN) and not isinstance(condition.value, list):
        raise InvalidInput("condition_value_invalid", f"{operator.value} needs a list of values")
    if operator is Operator.CONTAINS and question.type not in (
        QuestionType.TEXT,
        QuestionType.LONG_TEXT,
        QuestionType.MULTI_CHOICE,
    ):
        raise InvalidInput("operator_not_allowed", "contains applies to text and multi_choice questions only")
    if condition.value is None:
        raise InvalidInput("condition_value_invalid", f"{operator.value} needs a value")
    # The values a condition compares with must be answers the question could have, or the rule
    # would silently never hold.
    if operator is Operator.CONTAINS and question.type is not QuestionType.MULTI_CHOICE:
        problem = (
            text_problem(condition.value, multiline=question.type is QuestionType.LONG_TEXT)
            if isinstance(condition.value, str)
            else None
        )
        if problem is not None:
            raise InvalidInput("condition_value_invalid", f"The value to look for {problem}")
        return
    single = (
        question.model_copy(update={"type": QuestionType.SINGLE_CHOICE})
        if question.type in CHOICE_TYPES
        else question
    )
    values = condition.value if operator in (Operator.IN, Operator.NOT_IN) else [condition.value]
    for value in values:
        _, problem = coerce_answer(single, value)
        if problem:
            raise InvalidInput(
                "condition_value_invalid",
                f"{value!r} is not a possible answer to {question.title!r}: it {problem}",
            )


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
        return answer not in (None, "", [])
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
