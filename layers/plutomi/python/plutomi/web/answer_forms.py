"""The portal's answer form: one control per question type (`CONTROLS`, a table like
`domain.questions.QUESTION_TYPES`: a type without a control fails at import), reading a submitted
form into the answers the service takes, showing stored answers back in the form, the service's
field messages as sentences, and where the applicant is in plain words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from plutomi.domain import file_types
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.pipeline import Stage, is_complete
from plutomi.domain.questions import Question, QuestionType
from plutomi.services.portals import Portal
from plutomi.web.pages import Form

# How portal.html draws a control: a one-line input, a text area, radios or checkboxes, a file upload.
ControlKind = Literal["input", "textarea", "choices", "file"]
Shown = str | list[str]  # what a control shows: its text, or the values ticked / files named


def _text(form: Form, name: str) -> Any:
    return form.get(name)


def _trimmed(form: Form, name: str) -> Any:
    return form.get(name).strip()


def _yes_no(form: Form, name: str) -> Any:
    given = form.get(name)
    return YES_NO_VALUES.get(given, given)  # "" stays "": not answered


def _ticked(form: Form, name: str) -> Any:
    return form.all(name)


def _uploads(form: Form, name: str) -> Any:
    return [value for value in form.all(name) if value]


def _as_text(answer: Any) -> Shown:
    return "" if answer is None else str(answer)


def _as_yes_no(answer: Any) -> Shown:
    return {True: "true", False: "false"}.get(answer, "") if isinstance(answer, bool) else _as_text(answer)


def _as_list(answer: Any) -> Shown:
    return [str(value) for value in answer] if isinstance(answer, list) else []


@dataclass(frozen=True)
class AnswerControl:
    kind: ControlKind
    read: Callable[[Form, str], Any]  # the submitted form -> the answer to send
    shown: Callable[[Any], Shown]  # a stored answer -> what the control shows
    input_type: str = "text"
    attrs: dict[str, str] = field(default_factory=dict)
    multiple: bool = False  # checkboxes rather than radios


YES_NO = [("true", "Yes"), ("false", "No")]
YES_NO_VALUES = {"true": True, "false": False}

CONTROLS: dict[QuestionType, AnswerControl] = {
    QuestionType.TEXT: AnswerControl("input", _text, _as_text),
    QuestionType.LONG_TEXT: AnswerControl("textarea", _text, _as_text),
    # A text input, not type=number: the browser would drop what it cannot read as a number and the
    # server's message ("must be a number") would never be seen.
    QuestionType.NUMBER: AnswerControl("input", _trimmed, _as_text, attrs={"inputmode": "decimal"}),
    QuestionType.BOOLEAN: AnswerControl("choices", _yes_no, _as_yes_no),
    QuestionType.EMAIL: AnswerControl(
        "input", _trimmed, _as_text, "email", {"autocomplete": "email", "spellcheck": "false"}
    ),
    QuestionType.URL: AnswerControl("input", _trimmed, _as_text, "url", {"spellcheck": "false"}),
    QuestionType.DATE: AnswerControl("input", _trimmed, _as_text, "date"),
    QuestionType.SINGLE_CHOICE: AnswerControl("choices", _text, _as_text),
    QuestionType.MULTI_CHOICE: AnswerControl("choices", _ticked, _as_list, multiple=True),
    QuestionType.FILE: AnswerControl("file", _uploads, _as_list),
}


def require_every_control(controls: dict[QuestionType, AnswerControl]) -> None:
    missing = [kind.value for kind in QuestionType if kind not in controls]
    if missing:
        raise RuntimeError(f"The portal has no control for {', '.join(missing)} questions")


require_every_control(CONTROLS)


def options_of(question: Question) -> list[tuple[str, str]]:
    """A choices control's (value, label) pairs."""
    return YES_NO if question.type is QuestionType.BOOLEAN else [(o, o) for o in question.options]


def answers_from_form(stage: Stage, form: Form) -> dict[str, Any]:
    """Every question's answer as the form sent it. A file question without a file is left out:
    its upload needs JavaScript, and the other answers still count without it."""
    answers: dict[str, Any] = {}
    for question in stage.questions:
        answer = CONTROLS[question.type].read(form, question.id)
        if question.type is QuestionType.FILE and not answer:
            continue
        answers[question.id] = answer
    return answers


def shown_answers(stage: Stage, answers: dict[str, Any]) -> dict[str, Shown]:
    """What each control shows: the stored answers, or the answers a refused form sent."""
    return {q.id: CONTROLS[q.type].shown(answers.get(q.id)) for q in stage.questions}


def field_messages(stage: Stage, problems: dict[str, str]) -> dict[str, str]:
    """The service's messages by question id ("must be a number") as sentences naming the question."""
    messages = {}
    for question_id, problem in problems.items():
        question = stage.question(question_id)
        if question is None:
            continue
        joined = " " if problem.startswith(("is ", "must ", "takes ")) else ": "
        messages[question_id] = f"{question.title}{joined}{problem}"
    return messages


def file_hint(question: Question) -> str:
    """ "PDF or JPEG image, up to 10 MB": what a file question takes."""
    limit = file_types.megabytes(question.max_file_bytes)
    several = f" each, at most {file_types.MAX_FILES_PER_QUESTION} files" if question.multiple else ""
    return f"{file_types.labels(question.accepted_types)}, up to {limit}{several}"


def file_accept(question: Question) -> str:
    """The file picker's `accept`: each type's content type and extensions."""
    accepted = [file_types.FILE_TYPES[t] for t in question.accepted_types if t in file_types.FILE_TYPES]
    return ",".join(part for kind in accepted for part in (kind.content_type, *kind.extensions))


@dataclass(frozen=True)
class WhereYouAre:
    label: str  # in review, moved on, rejected, withdrawn, accepted
    badge: str  # the badge's style
    sentence: str


def where_you_are(portal: Portal) -> WhereYouAre:
    applicant, stage = portal.applicant, portal.stage
    if applicant.status is ApplicantStatus.ACCEPTED:
        return WhereYouAre(
            "Accepted", "accepted", "Good news: you have been accepted. The team will be in touch."
        )
    if applicant.status is ApplicantStatus.REJECTED:
        return WhereYouAre(
            "Rejected", "rejected", "Thank you for applying. The team has decided not to go ahead this time."
        )
    if applicant.status is ApplicantStatus.WITHDRAWN:
        return WhereYouAre("Withdrawn", "withdrawn", "You withdrew this application. Nothing more is needed.")
    stage_ids = portal.application.stage_ids
    moved_on = stage is not None and stage.id in stage_ids and stage_ids.index(stage.id) > 0
    to_do = stage is not None and not is_complete(stage, applicant.answers)
    sentence = (
        "Answer the questions below to continue."
        if to_do
        else "Nothing to do right now: we will email you when there is news."
    )
    if moved_on:
        return WhereYouAre("Moved on", "active", sentence)
    return WhereYouAre("In review", "active", sentence)
