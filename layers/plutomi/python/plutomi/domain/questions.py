"""Questions and their types: one table, `QUESTION_TYPES`, says for each type how an answer is
coerced to its stored form, which design settings the question takes, which operators a rule may
use on it, how a value a rule compares with is checked, and the JSON schema of its answer. Pure.

Nothing here falls back to a default for a type: a type without an entry fails at import
(`require_every_type`), and every lookup is `QUESTION_TYPES[question.type]`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from plutomi.domain import file_types
from plutomi.domain.errors import InvalidInput
from plutomi.domain.text import TextRejected, check_text, text_problem


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


Coercion = Callable[[Question, Any], tuple[Any, str | None]]


@dataclass(frozen=True)
class QuestionKind:
    answer: str  # the answer's shape, as a person reads it (docs/api.md's table)
    coerce: Coercion  # an answer -> its stored form, or a message a person can act on
    operators: frozenset[Operator]  # what an answer rule may test
    # Why a value a condition compares answers with could never be an answer (None: it could be).
    compared: Callable[[Question, Operator, Any], str | None]
    schema: Callable[[Question], dict[str, Any]]  # the JSON schema of an answer to this question
    takes_options: bool = False  # at least one option, each different
    takes_file_settings: bool = False  # accepts, max_size_bytes, multiple


def answered(value: Any) -> bool:
    """Whether an answer is given (what `required` asks for and `is_present` tests)."""
    return value not in (None, "", [])


# ---------------------------------------------------------------- coercions

EMAIL_ANSWER = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_ANSWER = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
DATE_ANSWER = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
INT64_LIMIT = 2**63
TEXT_LIMIT = 500
LONG_TEXT_LIMIT = 10_000
DOCUMENT_ID_LIMIT = 40


def _text(value: Any, *, multiline: bool) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "must be text"
    try:
        text = check_text(value, multiline=multiline)
    except TextRejected as rejected:
        return None, rejected.message
    limit = LONG_TEXT_LIMIT if multiline else TEXT_LIMIT
    return (text, None) if len(text) <= limit else (None, f"must be at most {limit} characters")


def _one_line(_: Question, value: Any) -> tuple[Any, str | None]:
    return _text(value, multiline=False)


def _multi_line(_: Question, value: Any) -> tuple[Any, str | None]:
    return _text(value, multiline=True)


def _number(_: Question, value: Any) -> tuple[Any, str | None]:
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


def _boolean(_: Question, value: Any) -> tuple[Any, str | None]:
    return (value, None) if isinstance(value, bool) else (None, "must be true or false")


def _shown_to_recruiters(value: Any) -> str | None:
    # Addresses and links are shown to recruiters: no hidden or reordering characters either.
    return text_problem(value) if isinstance(value, str) else None


def _email(_: Question, value: Any) -> tuple[Any, str | None]:
    problem = _shown_to_recruiters(value)
    if problem is not None:
        return None, problem
    ok = isinstance(value, str) and EMAIL_ANSWER.match(value.strip()) is not None
    return (value.strip().lower(), None) if ok else (None, "must be an email address")


def _url(_: Question, value: Any) -> tuple[Any, str | None]:
    problem = _shown_to_recruiters(value)
    if problem is not None:
        return None, problem
    ok = isinstance(value, str) and URL_ANSWER.match(value.strip()) is not None
    return (value.strip(), None) if ok else (None, "must be an http(s) URL")


def _date(_: Question, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and DATE_ANSWER.fullmatch(value):  # not 20260201 nor 2026-W05-1
        try:
            return date.fromisoformat(value).isoformat(), None
        except ValueError:
            pass
    return None, "must be a date as YYYY-MM-DD"


def _single_choice(question: Question, value: Any) -> tuple[Any, str | None]:
    ok = isinstance(value, str) and value in question.options
    return (value, None) if ok else (None, f"must be one of: {', '.join(question.options)}")


def _multi_choice(question: Question, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, "must be a list of options"
    unknown = [v for v in value if v not in question.options]
    if unknown:
        return None, f"unknown option(s) {', '.join(unknown)}; choose from: {', '.join(question.options)}"
    return sorted(set(value), key=question.options.index), None


def _most_files(question: Question) -> int:
    return file_types.MAX_FILES_PER_QUESTION if question.multiple else 1


def _file(question: Question, value: Any) -> tuple[Any, str | None]:
    # The ids of the uploads the answer names; the service checks each upload before it counts.
    ids = value if isinstance(value, list) else [value]
    if not ids or not all(
        isinstance(i, str) and i.startswith("doc_") and len(i) <= DOCUMENT_ID_LIMIT for i in ids
    ):
        return None, "must name an upload (the document id from the upload request)"
    if len(ids) > _most_files(question):
        return None, (
            f"takes at most {file_types.MAX_FILES_PER_QUESTION} files"
            if question.multiple
            else "takes one file"
        )
    return list(dict.fromkeys(ids)), None


# ---------------------------------------------------------------- values rules compare with


def _not_an_answer(question: Question, value: Any, problem: str | None) -> str | None:
    return (
        None if problem is None else f"{value!r} is not a possible answer to {question.title!r}: it {problem}"
    )


def _problem(coerce: Coercion) -> Callable[[Question, Operator, Any], str | None]:
    """A compared value must be a possible answer, or the rule would silently never hold."""
    return lambda question, _operator, value: _not_an_answer(question, value, coerce(question, value)[1])


def _text_compared(multiline: bool) -> Callable[[Question, Operator, Any], str | None]:
    def problem(question: Question, operator: Operator, value: Any) -> str | None:
        if operator is Operator.CONTAINS:  # a piece of an answer: only the text rules apply
            found = text_problem(value, multiline=multiline) if isinstance(value, str) else None
            return None if found is None else f"The value to look for {found}"
        return _not_an_answer(question, value, _text(value, multiline=multiline)[1])

    return problem


# ---------------------------------------------------------------- answer schemas


def _fixed(schema: dict[str, Any]) -> Callable[[Question], dict[str, Any]]:
    return lambda _question: dict(schema)


def _options_schema(question: Question) -> dict[str, Any]:
    return {"type": "string", "enum": list(question.options)}


def _options_list_schema(question: Question) -> dict[str, Any]:
    return {"type": "array", "items": _options_schema(question), "uniqueItems": True}


def _file_schema(question: Question) -> dict[str, Any]:
    document_id = {"type": "string", "pattern": "^doc_", "maxLength": DOCUMENT_ID_LIMIT}
    return {"type": "array", "items": document_id, "minItems": 1, "maxItems": _most_files(question)}


# ---------------------------------------------------------------- the table

EQUALITY = frozenset({Operator.EQ, Operator.NEQ, Operator.IN, Operator.NOT_IN, Operator.IS_PRESENT})
ORDERING = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})

QUESTION_TYPES: dict[QuestionType, QuestionKind] = {
    QuestionType.TEXT: QuestionKind(
        answer=f"one line of text, at most {TEXT_LIMIT} characters",
        coerce=_one_line,
        operators=EQUALITY | {Operator.CONTAINS},
        compared=_text_compared(multiline=False),
        schema=_fixed({"type": "string", "maxLength": TEXT_LIMIT}),
    ),
    QuestionType.LONG_TEXT: QuestionKind(
        answer=f"text with line breaks, at most {LONG_TEXT_LIMIT:,} characters",
        coerce=_multi_line,
        operators=EQUALITY | {Operator.CONTAINS},
        compared=_text_compared(multiline=True),
        schema=_fixed({"type": "string", "maxLength": LONG_TEXT_LIMIT}),
    ),
    QuestionType.NUMBER: QuestionKind(
        answer="a number (or text holding one); whole numbers within 64 bits are kept as integers",
        coerce=_number,
        operators=EQUALITY | ORDERING,
        compared=_problem(_number),
        schema=_fixed({"type": "number"}),
    ),
    QuestionType.BOOLEAN: QuestionKind(
        answer="`true` or `false`",
        coerce=_boolean,
        operators=EQUALITY | {Operator.IS_TRUE, Operator.IS_FALSE},
        compared=_problem(_boolean),
        schema=_fixed({"type": "boolean"}),
    ),
    QuestionType.EMAIL: QuestionKind(
        answer="an email address (kept in lower case)",
        coerce=_email,
        operators=EQUALITY,
        compared=_problem(_email),
        schema=_fixed({"type": "string", "format": "email"}),
    ),
    QuestionType.URL: QuestionKind(
        answer="an `http://` or `https://` URL",
        coerce=_url,
        operators=EQUALITY,
        compared=_problem(_url),
        schema=_fixed({"type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}),
    ),
    QuestionType.DATE: QuestionKind(
        answer="a date as `YYYY-MM-DD`",
        coerce=_date,
        operators=EQUALITY | ORDERING,
        compared=_problem(_date),
        schema=_fixed({"type": "string", "format": "date"}),
    ),
    QuestionType.SINGLE_CHOICE: QuestionKind(
        answer="one of the options",
        coerce=_single_choice,
        operators=EQUALITY,
        compared=_problem(_single_choice),
        schema=_options_schema,
        takes_options=True,
    ),
    QuestionType.MULTI_CHOICE: QuestionKind(
        answer="a list of options (kept once each, in the options' order)",
        coerce=_multi_choice,
        operators=EQUALITY | {Operator.CONTAINS},
        compared=_problem(_single_choice),  # rules compare with one option at a time
        schema=_options_list_schema,
        takes_options=True,
    ),
    QuestionType.FILE: QuestionKind(
        answer=(
            "the document id (`doc_...`) of an upload, or a list of them "
            f"(with `multiple`, at most {file_types.MAX_FILES_PER_QUESTION}); kept as a list"
        ),
        coerce=_file,
        operators=frozenset({Operator.IS_PRESENT}),  # uploads are checked, not compared
        compared=_problem(_file),
        schema=_file_schema,
        takes_file_settings=True,
    ),
}


def require_every_type(table: Mapping[QuestionType, QuestionKind]) -> None:
    """Every question type has an entry, and each lets a rule ask whether it was answered."""
    missing = [kind.value for kind in QuestionType if kind not in table]
    if missing:
        raise RuntimeError(f"QUESTION_TYPES has no entry for {', '.join(missing)}")
    without_presence = [
        kind.value for kind, entry in table.items() if Operator.IS_PRESENT not in entry.operators
    ]
    if without_presence:
        raise RuntimeError(
            f"is_present must apply to every question type, not to {', '.join(without_presence)}"
        )


require_every_type(QUESTION_TYPES)


# ---------------------------------------------------------------- using the table


def coerce_answer(question: Question, value: Any) -> tuple[Any, str | None]:
    """The stored form of an answer, or an error message a person can act on."""
    return QUESTION_TYPES[question.type].coerce(question, value)


def answer_schema(question: Question) -> dict[str, Any]:
    """The JSON schema of an answer to this question (what a form may send)."""
    return QUESTION_TYPES[question.type].schema(question)


def types_taking(operator: Operator) -> list[QuestionType]:
    return [kind for kind in QuestionType if operator in QUESTION_TYPES[kind].operators]


def validate_question(question: Question) -> None:
    kind = QUESTION_TYPES[question.type]
    if kind.takes_options:
        if len(question.options) < 1:
            raise InvalidInput(
                "options_required", f"A {question.type.value} question needs at least one option"
            )
        if len(set(question.options)) != len(question.options):
            raise InvalidInput("duplicate_options", "Each option must be different")
    elif question.options:
        raise InvalidInput("options_not_allowed", f"A {question.type.value} question takes no options")
    if kind.takes_file_settings:
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
