"""The application builder's forms, generated from the question table (domain/questions.py).

- A question's design settings are fieldsets named by the `takes_*` flags of `QuestionKind`: every
  type with the flag gets the fieldset, so a new type needs no template edit (and a new flag fails
  `require_a_group_per_setting` at import until it has a fieldset).
- A rule's condition offers the operators the question's type takes, in words (`OPERATOR_WORDS`),
  and a value typed into a form becomes the answer's stored form before it is compared.
- Rules read back in plain words: "When 'Has a licence' is true, move to Waiting List".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from plutomi.domain import file_types
from plutomi.domain.errors import InvalidFields, InvalidInput
from plutomi.domain.pipeline import AnswerRule, Application, Condition, IdleRule, Stage, validate_rule
from plutomi.domain.questions import QUESTION_TYPES, Operator, Question, QuestionKind, QuestionType
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.web.pages import Form, parse

# QuestionKind flag -> the settings fieldset builder_question.html renders for types that have it.
SETTING_GROUPS = {"takes_options": "options", "takes_file_settings": "files"}

OPERATOR_WORDS: dict[Operator, str] = {
    Operator.EQ: "is",
    Operator.NEQ: "is not",
    Operator.IN: "is one of",
    Operator.NOT_IN: "is none of",
    Operator.GT: "is more than",
    Operator.GTE: "is at least",
    Operator.LT: "is less than",
    Operator.LTE: "is at most",
    Operator.CONTAINS: "contains",
    Operator.IS_TRUE: "is true",
    Operator.IS_FALSE: "is false",
    Operator.IS_PRESENT: "is answered (for a file: uploaded)",
}
TAKES_NO_VALUE = frozenset({Operator.IS_PRESENT, Operator.IS_TRUE, Operator.IS_FALSE})
TAKES_A_LIST = frozenset({Operator.IN, Operator.NOT_IN})
UNITS = {"days": 1440, "hours": 60, "minutes": 1}  # largest first: how an idle rule's wait is shown
TYPE_LABELS = {QuestionType.URL: "Web address (URL)", QuestionType.BOOLEAN: "Yes or no"}
# Where a design error from the services belongs on the question form.
QUESTION_FIELD_OF_CODE = {
    "options_required": "options",
    "duplicate_options": "options",
    "options_not_allowed": "options",
    "file_type_not_allowed": "accepts",
    "file_size_out_of_range": "max_size_mb",
    "file_settings_not_allowed": "type",
}
MAX_SIZE_MESSAGE = f"Enter a size in MB, at most {file_types.megabytes(file_types.MAX_FILE_BYTES)}"
RULE_TARGET_CODES = frozenset({"rule_targets_own_stage", "rule_target_not_in_application"})
MIN_CONDITION_ROWS = 2
MAX_CONDITION_ROWS = 20  # a form this long is a design to split; the API takes up to 50


def require_a_group_per_setting() -> None:
    flags = {f.name for f in fields(QuestionKind) if f.name.startswith("takes_")}
    missing = sorted(flags - set(SETTING_GROUPS))
    if missing:
        raise RuntimeError(f"the builder has no settings fieldset for {', '.join(missing)}")
    unworded = [operator.value for operator in Operator if operator not in OPERATOR_WORDS]
    if unworded:
        raise RuntimeError(f"OPERATOR_WORDS has no words for {', '.join(unworded)}")


require_a_group_per_setting()


@dataclass(frozen=True)
class TypeForm:
    """What the question form shows for one type."""

    value: str
    label: str
    answer: str  # the answer's shape, from the table
    groups: tuple[str, ...]  # the settings fieldsets this type takes
    operators: tuple[tuple[str, str], ...]  # (operator, words) a rule may test


def type_label(kind: QuestionType) -> str:
    return TYPE_LABELS.get(kind) or kind.value.replace("_", " ").capitalize()


def type_forms() -> list[TypeForm]:
    return [
        TypeForm(
            value=kind.value,
            label=type_label(kind),
            answer=entry.answer,
            groups=tuple(group for flag, group in SETTING_GROUPS.items() if getattr(entry, flag)),
            operators=tuple((o.value, OPERATOR_WORDS[o]) for o in Operator if o in entry.operators),
        )
        for kind, entry in QUESTION_TYPES.items()
    ]


def types_with(group: str) -> list[str]:
    return [form.value for form in type_forms() if group in form.groups]


# ---------------------------------------------------------------- questions


def question_values(question: Question | None) -> dict[str, Any]:
    """The question form's values: a question's, or a new question's defaults."""
    if question is None:
        return {
            "type": QuestionType.TEXT.value,
            "title": "",
            "help_text": "",
            "required": True,
            "options": "",
            "accepts": [],
            "max_size_mb": "",
            "multiple": False,
        }
    size = question.max_size_bytes
    return {
        "type": question.type.value,
        "title": question.title,
        "help_text": question.help_text,
        "required": question.required,
        "options": "\n".join(question.options),
        "accepts": list(question.accepts),
        "max_size_mb": "" if size is None else _plain_number(Decimal(size) / file_types.MEGABYTE),
        "multiple": question.multiple,
    }


def submitted_question_values(form: Form) -> dict[str, Any]:
    return {
        "type": form.get("type"),
        "title": form.get("title"),
        "help_text": form.get("help_text"),
        "required": "required" in form,
        "options": form.get("options"),
        "accepts": form.all("accepts"),
        "max_size_mb": form.get("max_size_mb"),
        "multiple": "multiple" in form,
    }


def question_fields(form: Form) -> dict[str, Any]:
    """The question form as the services' question fields: only the settings its type takes (a form
    shows every fieldset without JavaScript). Raises InvalidFields keyed by the form's field names."""
    data: dict[str, Any] = {
        "type": form.get("type"),
        "title": form.get("title").strip(),
        "help_text": form.get("help_text").strip(),
        "required": "required" in form,
    }
    entry = QUESTION_TYPES.get(QuestionType(data["type"])) if data["type"] in set(QuestionType) else None
    if entry is not None and entry.takes_options:
        data["options"] = [line.strip() for line in form.get("options").splitlines() if line.strip()]
    if entry is not None and entry.takes_file_settings:
        data["accepts"] = form.all("accepts")
        data["max_size_bytes"] = _bytes_of(form.get("max_size_mb"))
        data["multiple"] = "multiple" in form
    try:
        body = parse(schemas.QuestionFields, data)
    except InvalidFields as error:
        raise InvalidFields(error.code, error.message, _question_field_names(error.fields)) from error
    return body.model_dump()


def question_error(error: InvalidInput) -> dict[str, str]:
    """A service's refusal of a question's design, next to the field it is about."""
    name = QUESTION_FIELD_OF_CODE.get(error.code, "title")
    return {name: MAX_SIZE_MESSAGE if name == "max_size_mb" else error.message}


def _question_field_names(found: dict[str, str]) -> dict[str, str]:
    named: dict[str, str] = {}
    for key, message in found.items():
        name = key.split(".", 1)[0]
        name = "max_size_mb" if name == "max_size_bytes" else name
        named.setdefault(name, message)
    return named


def _bytes_of(megabytes: str) -> int | None:
    text = megabytes.strip()
    if not text:
        return None
    try:
        size = Decimal(text) * file_types.MEGABYTE
    except InvalidOperation:
        raise InvalidFields(
            "validation_failed", "Some fields need another look", {"max_size_mb": MAX_SIZE_MESSAGE}
        ) from None
    if not size.is_finite() or not 0 < size <= file_types.MAX_FILE_BYTES:
        raise InvalidFields(
            "validation_failed", "Some fields need another look", {"max_size_mb": MAX_SIZE_MESSAGE}
        )
    return int(size)


def _plain_number(number: Decimal) -> str:
    return format(number.normalize(), "f") if number != number.to_integral_value() else str(int(number))


# ---------------------------------------------------------------- answer rules


@dataclass(frozen=True)
class ConditionRow:
    question_id: str = ""
    operator: str = ""
    value: str = ""


def condition_rows(form: Form) -> list[ConditionRow]:
    count = min(int(form.get("rows") or 0) if form.get("rows").isdigit() else 0, MAX_CONDITION_ROWS)
    return [
        ConditionRow(
            form.get(f"condition-{i}-question").strip(),
            form.get(f"condition-{i}-operator").strip(),
            form.get(f"condition-{i}-value"),
        )
        for i in range(count)
    ]


def rows_of(rule: AnswerRule | None, stage: Stage) -> list[ConditionRow]:
    """A rule's conditions as form rows, and a blank row or two to add more."""
    rows = [] if rule is None else [_row_of(c, stage) for c in rule.conditions]
    return padded(rows)


def padded(rows: list[ConditionRow]) -> list[ConditionRow]:
    wanted = max(len(rows) + 1, MIN_CONDITION_ROWS)
    return [*rows, *[ConditionRow() for _ in range(min(wanted, MAX_CONDITION_ROWS) - len(rows))]]


def _row_of(condition: Condition, stage: Stage) -> ConditionRow:
    return ConditionRow(condition.question_id, condition.operator.value, _shown_value(condition.value))


def _shown_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_shown_value(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class SubmittedAnswerRule:
    rule: AnswerRule
    row_of_condition: tuple[int, ...]  # the form row each condition came from


def answer_rule_from(form: Form, stage: Stage) -> SubmittedAnswerRule:
    """The answer rule form as a rule (blank rows skipped); InvalidFields keyed by field name."""
    problems: dict[str, str] = {}
    to_stage_id = form.get("to_stage_id")
    if not to_stage_id:
        problems["to_stage_id"] = "Choose the stage to move applicants to"
    match = form.get("match", "all")
    if match not in ("all", "any"):
        problems["match"] = "Choose whether all or any of the conditions must hold"
    conditions: list[Condition] = []
    rows: list[int] = []
    for index, row in enumerate(condition_rows(form)):
        if not row.question_id and not row.value.strip():
            continue
        question = stage.question(row.question_id)
        if question is None:
            problems[f"condition-{index}-question"] = "Choose a question of this stage"
            continue
        if row.operator not in set(Operator):
            problems[f"condition-{index}-operator"] = "Choose what to test"
            continue
        operator = Operator(row.operator)
        if operator not in TAKES_NO_VALUE and not row.value.strip():
            problems[f"condition-{index}-value"] = f"Enter the value the answer {OPERATOR_WORDS[operator]}"
            continue
        conditions.append(
            Condition(
                question_id=question.id, operator=operator, value=form_value(question, operator, row.value)
            )
        )
        rows.append(index)
    if not conditions and not problems:
        problems["condition-0-question"] = "Add at least one condition"
    if problems:
        raise InvalidFields("validation_failed", "Some fields need another look", problems)
    rule = AnswerRule(id="new", to_stage_id=to_stage_id, match=match, conditions=tuple(conditions))
    return SubmittedAnswerRule(rule, tuple(rows))


def form_value(question: Question, operator: Operator, text: str) -> Any:
    """What a person typed, as the answer's stored form (a number as a number, "true" as true), so
    the rule compares like with like; a value that could never be an answer stays as typed and the
    service says why."""
    if operator in TAKES_NO_VALUE:
        return None
    if operator in TAKES_A_LIST:
        return [_one_value(question, part) for part in text.split(",") if part.strip()]
    return _one_value(question, text)


def _one_value(question: Question, text: str) -> Any:
    typed = text.strip()
    if question.type is QuestionType.BOOLEAN:
        return {"true": True, "yes": True, "false": False, "no": False}.get(typed.lower(), typed)
    stored, problem = QUESTION_TYPES[question.type].coerce(question, typed)
    return typed if problem is not None else stored


def answer_rule_error(
    error: InvalidInput, submitted: SubmittedAnswerRule, stage: Stage, application: Application
) -> dict[str, str]:
    """A service's refusal of an answer rule, next to the field it is about: the target stage, or
    the first condition the domain's own check refuses."""
    if error.code in RULE_TARGET_CODES:
        return {"to_stage_id": error.message}
    for condition, row in zip(submitted.rule.conditions, submitted.row_of_condition, strict=True):
        alone = submitted.rule.model_copy(update={"conditions": (condition,)})
        try:
            validate_rule(alone, stage, application)
        except InvalidInput as refused:
            part = {"operator_not_allowed": "operator", "unknown_question": "question"}.get(
                refused.code, "value"
            )
            return {f"condition-{row}-{part}": refused.message}
    return {"condition-0-question": error.message}


# ---------------------------------------------------------------- idle rules


def idle_values(rule: IdleRule | None) -> dict[str, str]:
    if rule is None:
        return {"idle_to_stage_id": "", "amount": "", "unit": "days"}
    amount, unit = split_minutes(rule.after_minutes)
    return {"idle_to_stage_id": rule.to_stage_id, "amount": str(amount), "unit": unit}


def idle_rule_from(form: Form) -> IdleRule:
    problems: dict[str, str] = {}
    to_stage_id = form.get("idle_to_stage_id")
    if not to_stage_id:
        problems["idle_to_stage_id"] = "Choose the stage to move applicants to"
    try:
        after = parse(schemas.Duration, {"amount": form.get("amount").strip(), "unit": form.get("unit")})
    except InvalidFields as error:
        problems.update({name: message for name, message in error.fields.items()})
        if "amount" in problems:
            problems["amount"] = "Enter a whole number, 1 or more"
    if problems:
        raise InvalidFields("validation_failed", "Some fields need another look", problems)
    return IdleRule(id="new", to_stage_id=to_stage_id, after_minutes=after.minutes())


def split_minutes(minutes: int) -> tuple[int, str]:
    """A wait in the largest unit that states it exactly: 43200 -> (30, "days")."""
    unit = next(name for name, size in UNITS.items() if minutes % size == 0)
    return minutes // UNITS[unit], unit


# ---------------------------------------------------------------- plain words


def describe_rule(rule: AnswerRule | IdleRule, stage: Stage, stage_names: dict[str, str]) -> str:
    target = stage_names.get(rule.to_stage_id, "a stage that no longer exists")
    if isinstance(rule, IdleRule):
        amount, unit = split_minutes(rule.after_minutes)
        unit_words = unit if amount != 1 else unit.removesuffix("s")
        return f"After {amount} {unit_words} without completing this stage, move to {target}"
    joiner = " and " if rule.match == "all" else " or "
    tests = joiner.join(_describe_condition(c, stage) for c in rule.conditions)
    return f"When {tests}, move to {target}"


def _describe_condition(condition: Condition, stage: Stage) -> str:
    question = stage.question(condition.question_id)
    title = f"'{question.title}'" if question else "a removed question"
    if condition.operator is Operator.IS_PRESENT:
        words = "is uploaded" if question and question.type is QuestionType.FILE else "is answered"
    else:
        words = OPERATOR_WORDS[condition.operator]
    if condition.operator in TAKES_NO_VALUE:
        return f"{title} {words}"
    return f"{title} {words} {_shown_value(condition.value)}"
