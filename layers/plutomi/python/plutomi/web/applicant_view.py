"""The applicant page's content, as a recruiter reads it: answers by stage rendered by question type,
documents with how each can be previewed, and one timeline of stage visits and decisions naming who
did each (a member, a rule, the idle sweeper, the applicant). Pure: the page function gathers the
models through the services and hands them here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from plutomi.domain import file_types
from plutomi.domain.applicants import Applicant, Decision, StageVisit
from plutomi.domain.decisions import DecisionAction
from plutomi.domain.documents import Document, ScanStatus
from plutomi.domain.models import Membership
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import AnswerRule, IdleRule, Stage
from plutomi.domain.questions import Question, QuestionType, answered

KILOBYTE = 1024
IMAGE_PREVIEWS = frozenset({"image/jpeg", "image/png", "image/webp"})

# What each status is called on the page (the badge and the heading's words).
STATUS_WORDS = {
    "active": "Active",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "accepted": "Accepted (final decision)",
}
SCAN_WORDS = {
    ScanStatus.NOT_SCANNED: "Not scanned (no malware scanner is set up)",
    ScanStatus.PENDING: "Being scanned for malware",
    ScanStatus.CLEAN: "Scanned: no threats found",
    ScanStatus.INFECTED: "Malware found",
    ScanStatus.FAILED: "The scanner could not scan it",
}


@dataclass(frozen=True)
class Moment:
    """A time as the page shows it: machine-readable for <time>, and in words."""

    iso: str
    text: str

    @classmethod
    def of(cls, at: datetime) -> Moment:
        return cls(at.isoformat(), at.strftime("%-d %b %Y, %H:%M UTC"))


class Preview(StrEnum):
    FRAME = "frame"  # a PDF in an <iframe>
    IMAGE = "image"  # an <img>
    NONE = "none"  # not previewed: `why` says why


@dataclass(frozen=True)
class DocumentView:
    document: Document
    type_label: str
    size: str
    scan: str
    preview: Preview
    why_not_previewed: str = ""
    openable: bool = True  # the open link works (infected and pending documents answer 409)


@dataclass(frozen=True)
class ShownAnswer:
    question: Question
    text: str  # the answer in words ("" for a file answer: see `documents`)
    answered: bool
    multiline: bool = False
    documents: list[DocumentView] = field(default_factory=list)


@dataclass(frozen=True)
class StageAnswers:
    stage: Stage
    answers: list[ShownAnswer]
    is_current: bool


@dataclass(frozen=True)
class TimelineEntry:
    at: Moment
    sort_key: datetime
    title: str
    lines: list[str]
    kind: str  # "visit" or the decision's action, for its marker


@dataclass(frozen=True)
class ApplicantView:
    applicant: Applicant
    full_name: str
    status_words: str
    stage: Stage | None
    applied: Moment
    in_stage_since: Moment | None
    answers_by_stage: list[StageAnswers]
    documents: list[DocumentView]
    timeline: list[TimelineEntry]
    move_targets: list[tuple[str, str]]  # (stage id, name) of the stages they could be moved to


def full_name(applicant: Applicant) -> str:
    return f"{applicant.first_name} {applicant.last_name}".strip() or "(no name)"


def human_size(size_bytes: int) -> str:
    if size_bytes < KILOBYTE:
        return f"{size_bytes} bytes"
    if size_bytes < file_types.MEGABYTE:
        return f"{size_bytes / KILOBYTE:.1f} KB"
    return file_types.megabytes(size_bytes)


def document_view(document: Document) -> DocumentView:
    served_as = document.sniffed_type or document.content_type
    known = file_types.file_type(served_as)
    type_label = known.label if known else served_as
    preview, why, openable = Preview.NONE, "", True
    if document.scan_status is ScanStatus.INFECTED:
        why = f"Not shown: the malware scanner found {document.scan_detail or 'a threat'} in it."
        openable = False
    elif document.scan_status is ScanStatus.PENDING:
        why = "Not shown yet: it is still being scanned for malware. Reload in a moment."
        openable = False
    elif served_as == "application/pdf":
        preview = Preview.FRAME
    elif served_as in IMAGE_PREVIEWS:
        preview = Preview.IMAGE
    else:
        why = f"Browsers cannot show a {type_label} here; open it to download it."
    return DocumentView(
        document,
        type_label,
        human_size(document.size_bytes),
        SCAN_WORDS[document.scan_status],
        preview,
        why,
        openable,
    )


def answer_text(question: Question, answer: Any) -> str:
    """A stored answer in words, by its question's type."""
    if question.type is QuestionType.BOOLEAN:
        return "Yes" if answer else "No"
    if question.type is QuestionType.MULTI_CHOICE and isinstance(answer, list):
        return ", ".join(str(choice) for choice in answer)
    if question.type is QuestionType.DATE and isinstance(answer, str):
        try:
            return date.fromisoformat(answer).strftime("%-d %B %Y")
        except ValueError:
            return answer
    if question.type is QuestionType.NUMBER and isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)


def shown_answer(question: Question, answer: Any, documents: dict[str, DocumentView]) -> ShownAnswer:
    if not answered(answer):
        return ShownAnswer(question, "Not answered", answered=False)
    if question.type is QuestionType.FILE:
        named = [documents[i] for i in answer if i in documents] if isinstance(answer, list) else []
        return ShownAnswer(question, "", answered=True, documents=named)
    return ShownAnswer(
        question,
        answer_text(question, answer),
        answered=True,
        multiline=question.type is QuestionType.LONG_TEXT,
    )


def duration_words(minutes: int) -> str:
    for unit, size in (("day", 1440), ("hour", 60)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


@dataclass(frozen=True)
class Names:
    """Who and what movers' ids name: members by email, rules with their stage, stages by name."""

    members: dict[str, str]
    rules: dict[str, tuple[Stage, AnswerRule | IdleRule]]
    stages: dict[str, Stage]

    @classmethod
    def of(cls, stages: Sequence[Stage], members: Sequence[Membership]) -> Names:
        return cls(
            members={m.user_id: m.email for m in members},
            rules={rule.id: (stage, rule) for stage in stages for rule in stage.rules},
            stages={stage.id: stage for stage in stages},
        )

    def stage(self, stage_id: str | None) -> str:
        found = self.stages.get(stage_id or "")
        return found.name if found else "a stage deleted since"

    def mover(self, mover: Mover) -> str:
        if mover.kind == "applicant":
            return "the applicant"
        if mover.kind == "user":
            return self.members.get(mover.id or "", "someone no longer in the organisation")
        found = self.rules.get(mover.id or "")
        if mover.kind == "sweeper":
            if found is None or not isinstance(found[1], IdleRule):
                return "the idle sweeper (a rule deleted since)"
            return f"the idle sweeper (idle for {duration_words(found[1].after_minutes)} in {found[0].name})"
        if found is None:
            return "an answer rule deleted since"
        return f"an answer rule of {found[0].name} (to {self.stage(found[1].to_stage_id)})"


def visit_entry(visit: StageVisit, names: Names, *, first: bool) -> TimelineEntry:
    verb = "Applied, entering" if first and visit.entered_by.kind == "applicant" else "Entered"
    lines = [f"{verb} {names.stage(visit.stage_id)} — by {names.mover(visit.entered_by)}"]
    if visit.exited_at is not None:
        by = f" — by {names.mover(visit.exited_by)}" if visit.exited_by else ""
        lines.append(f"Left on {Moment.of(visit.exited_at).text}{by}")
    else:
        lines.append("Here now")
    return TimelineEntry(
        Moment.of(visit.entered_at), visit.entered_at, f"In {names.stage(visit.stage_id)}", lines, "visit"
    )


DECISION_TITLES = {
    DecisionAction.REJECT: "Rejected",
    DecisionAction.REOPEN: "Reopened",
    DecisionAction.ACCEPT: "Accepted (final decision)",
    DecisionAction.WITHDRAW: "Withdrew",
}


def decision_entry(decision: Decision, names: Names) -> TimelineEntry:
    title = DECISION_TITLES[decision.action]
    if decision.action is DecisionAction.REJECT and decision.reason_label:
        title = f"{title}: {decision.reason_label}"
    lines = [f"By {names.mover(decision.by)}, in {names.stage(decision.stage_id)}"]
    if decision.action is DecisionAction.REOPEN:
        lines.append(f"Was {STATUS_WORDS[decision.from_status.value].lower()}")
    if decision.note:
        lines.append(f"Note: {decision.note}")
    return TimelineEntry(Moment.of(decision.at), decision.at, title, lines, decision.action.value)


def timeline(applicant: Applicant, names: Names) -> list[TimelineEntry]:
    """Stage visits and decisions, newest first; at the same instant a decision follows its visit."""
    entries = [visit_entry(v, names, first=i == 0) for i, v in enumerate(applicant.history)]
    entries += [decision_entry(d, names) for d in applicant.decisions]
    ordered = sorted(enumerate(entries), key=lambda pair: (pair[1].sort_key, pair[0]), reverse=True)
    return [entry for _, entry in ordered]


def applicant_view(
    applicant: Applicant,
    stages: Sequence[Stage],
    documents: Sequence[Document],
    members: Sequence[Membership],
) -> ApplicantView:
    """`stages` in the application's order; `documents` the applicant's confirmed ones."""
    names = Names.of(stages, members)
    shown_documents = [document_view(d) for d in documents]
    by_id = {view.document.id: view for view in shown_documents}
    answers_by_stage = [
        StageAnswers(
            stage,
            [shown_answer(q, applicant.answers.get(q.id), by_id) for q in stage.questions],
            stage.id == applicant.stage_id,
        )
        for stage in stages
        if stage.questions
    ]
    current = names.stages.get(applicant.stage_id or "")
    return ApplicantView(
        applicant=applicant,
        full_name=full_name(applicant),
        status_words=STATUS_WORDS[applicant.status.value],
        stage=current,
        applied=Moment.of(applicant.created_at),
        in_stage_since=Moment.of(applicant.stage_entered_at) if applicant.stage_entered_at else None,
        answers_by_stage=answers_by_stage,
        documents=shown_documents,
        timeline=timeline(applicant, names),
        move_targets=[(s.id, s.name) for s in stages if s.id != applicant.stage_id],
    )
