"""Request and response bodies of the pipeline API: applications, stages, questions, rules, applicants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from plutomi.domain.applicants import Applicant, Decision
from plutomi.domain.decisions import ApplicantStatus, DecisionAction, RejectionReason
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import AnswerRule, Application, ApplicationStatus, Condition, IdleRule, Stage
from plutomi.domain.questions import QUESTION_TYPES, Question, QuestionType, answer_schema
from plutomi.entrypoints.document_schemas import DocumentSummary
from plutomi.entrypoints.schemas import Body, EmailText
from plutomi.entrypoints.text_fields import (
    DisplayName,
    HelpText,
    LongDescription,
    Option,
    PersonName,
    RecruiterNote,
    Title,
)
from plutomi.services.applicants import Page
from plutomi.services.designs import Design
from plutomi.services.portals import Portal

AppName = DisplayName
FileContentType = Annotated[str, Field(max_length=100, description="e.g. application/pdf")]
Description = LongDescription
Position = Annotated[int, Field(ge=0, description="0-based; past the end means last")]


class CreateApplication(Body):
    name: AppName
    description: Description = ""


class UpdateApplication(Body):
    name: AppName | None = None
    description: Description | None = None
    status: ApplicationStatus | None = None


class CreateStage(Body):
    name: AppName
    position: Position | None = None


class UpdateStage(Body):
    name: AppName | None = None
    position: Position | None = None


class QuestionFields(Body):
    type: QuestionType
    title: Title
    help_text: HelpText = ""
    required: bool = True
    options: list[Option] = Field(default_factory=list, max_length=100)
    accepts: list[FileContentType] = Field(
        default_factory=list, max_length=10, description="file questions: accepted content types"
    )
    max_size_bytes: int | None = Field(default=None, description="file questions: the largest file")
    multiple: bool = Field(default=False, description="file questions: several files may be given")


class CreateQuestion(QuestionFields):
    position: Position | None = None


class UpdateQuestion(Body):
    type: QuestionType | None = None
    title: Title | None = None
    help_text: HelpText | None = None
    required: bool | None = None
    options: list[Option] | None = Field(default=None, max_length=100)
    accepts: list[FileContentType] | None = Field(default=None, max_length=10)
    max_size_bytes: int | None = None
    multiple: bool | None = None
    position: Position | None = None


class ConditionIn(Body):
    question_id: str
    operator: Literal[
        "eq",
        "neq",
        "in",
        "not_in",
        "gt",
        "gte",
        "lt",
        "lte",
        "contains",
        "is_true",
        "is_false",
        "is_present",
    ]
    value: Any = None


class Duration(Body):
    amount: int = Field(ge=1)
    unit: Literal["minutes", "hours", "days"]

    def minutes(self) -> int:
        return self.amount * {"minutes": 1, "hours": 60, "days": 1440}[self.unit]


class AnswerRuleIn(Body):
    kind: Literal["answer"]
    to_stage_id: str
    match: Literal["all", "any"] = "all"
    conditions: list[ConditionIn] = Field(min_length=1, max_length=50)

    def to_rule(self) -> AnswerRule:
        conditions = tuple(Condition(**c.model_dump()) for c in self.conditions)
        return AnswerRule(id="new", to_stage_id=self.to_stage_id, match=self.match, conditions=conditions)


class IdleRuleIn(Body):
    kind: Literal["idle"]
    to_stage_id: str
    after: Duration

    def to_rule(self) -> IdleRule:
        return IdleRule(id="new", to_stage_id=self.to_stage_id, after_minutes=self.after.minutes())


RuleIn = Annotated[AnswerRuleIn | IdleRuleIn, Field(discriminator="kind")]


class CreateRule(Body):
    rule: RuleIn
    position: Position | None = None


class UpdateRule(Body):
    rule: RuleIn | None = None
    position: Position | None = None


class Apply(Body):
    email: EmailText
    first_name: PersonName
    last_name: PersonName


class Answers(Body):
    answers: dict[str, Any] = Field(
        description="question id -> answer, in the shape of the question's `answer_schema` (the portal)"
    )


class MoveApplicant(Body):
    from_stage_id: str
    to_stage_id: str
    send_email: bool = Field(default=True, description="false: no email about entering the stage")


class RejectApplicant(Body):
    reason_id: str = Field(description="one of the org's rejection reasons")
    note: RecruiterNote = Field(default="", description="for recruiters only; never shown to the applicant")
    send_email: bool = Field(default=True, description="false: no rejection email for this decision")


class AcceptApplicant(Body):
    note: RecruiterNote = Field(default="", description="for recruiters only; never shown to the applicant")


class ReasonLabel(Body):
    label: DisplayName


class RejectionReasonOut(BaseModel):
    id: str
    label: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, reason: RejectionReason) -> RejectionReasonOut:
        return cls(
            id=reason.id, label=reason.label, created_at=reason.created_at, updated_at=reason.updated_at
        )


class RejectionReasonList(BaseModel):
    rejection_reasons: list[RejectionReasonOut]


# ---------------------------------------------------------------- responses


class StageSummary(BaseModel):
    id: str
    name: str
    position: int
    questions: int
    rules: int


class ApplicationOut(BaseModel):
    id: str
    name: str
    description: str
    status: ApplicationStatus
    stages: list[StageSummary]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, design: Design) -> ApplicationOut:
        application = design.application
        stages = [
            StageSummary(id=s.id, name=s.name, position=i, questions=len(s.questions), rules=len(s.rules))
            for i, s in enumerate(design.stages)
        ]
        return cls(
            id=application.id,
            name=application.name,
            description=application.description,
            status=application.status,
            stages=stages,
            created_at=application.created_at,
            updated_at=application.updated_at,
        )


class ApplicationSummary(BaseModel):
    id: str
    name: str
    description: str
    status: ApplicationStatus
    stage_count: int

    @classmethod
    def of(cls, application: Application) -> ApplicationSummary:
        return cls(
            id=application.id,
            name=application.name,
            description=application.description,
            status=application.status,
            stage_count=len(application.stage_ids),
        )


class ApplicationList(BaseModel):
    applications: list[ApplicationSummary]


class RuleOut(BaseModel):
    id: str
    kind: Literal["answer", "idle"]
    to_stage_id: str
    match: Literal["all", "any"] | None = None
    conditions: list[Condition] | None = None
    after_minutes: int | None = None

    @classmethod
    def of(cls, rule: AnswerRule | IdleRule) -> RuleOut:
        if isinstance(rule, IdleRule):
            return cls(
                id=rule.id, kind="idle", to_stage_id=rule.to_stage_id, after_minutes=rule.after_minutes
            )
        return cls(
            id=rule.id,
            kind="answer",
            to_stage_id=rule.to_stage_id,
            match=rule.match,
            conditions=list(rule.conditions),
        )


class StageOut(BaseModel):
    id: str
    application_id: str
    name: str
    questions: list[Question]
    rules: list[RuleOut]
    updated_at: datetime

    @classmethod
    def of(cls, stage: Stage) -> StageOut:
        return cls(
            id=stage.id,
            application_id=stage.application_id,
            name=stage.name,
            questions=stage.questions,
            rules=[RuleOut.of(r) for r in stage.rules],
            updated_at=stage.updated_at,
        )


class StageList(BaseModel):
    stages: list[StageOut]


class PublicQuestion(BaseModel):
    id: str
    type: QuestionType
    title: str
    help_text: str
    required: bool
    options: list[str]
    accepts: list[str] = Field(description="file questions: the content types to upload")
    max_size_bytes: int | None = Field(description="file questions: the largest file")
    multiple: bool
    answer_schema: dict[str, Any] = Field(description="the JSON schema of an answer to this question")

    @classmethod
    def of(cls, question: Question) -> PublicQuestion:
        takes_files = QUESTION_TYPES[question.type].takes_file_settings
        return cls(
            id=question.id,
            type=question.type,
            title=question.title,
            help_text=question.help_text,
            required=question.required,
            options=list(question.options),
            accepts=list(question.accepted_types) if takes_files else [],
            max_size_bytes=question.max_file_bytes if takes_files else None,
            multiple=question.multiple,
            answer_schema=answer_schema(question),
        )


class PublicApplication(BaseModel):
    id: str
    org_id: str
    name: str
    description: str

    @classmethod
    def of(cls, application: Application) -> PublicApplication:
        return cls(
            id=application.id,
            org_id=application.org_id,
            name=application.name,
            description=application.description,
        )


class PublicApplicationList(BaseModel):
    applications: list[PublicApplication]


class PortalStage(BaseModel):
    id: str
    name: str
    questions: list[PublicQuestion]
    answers: dict[str, Any]
    complete: bool


class PortalOut(BaseModel):
    applicant_id: str
    first_name: str
    status: ApplicantStatus = Field(description="active: in review; rejected, withdrawn or accepted: decided")
    application: PublicApplication
    stage: PortalStage | None

    @classmethod
    def of(cls, portal: Portal) -> PortalOut:
        from plutomi.domain.pipeline import is_complete

        stage = None
        if portal.stage is not None:
            asked = {q.id for q in portal.stage.questions}
            stage = PortalStage(
                id=portal.stage.id,
                name=portal.stage.name,
                questions=[PublicQuestion.of(q) for q in portal.stage.questions],
                answers=_portal_answers(portal, asked),
                complete=is_complete(portal.stage, portal.applicant.answers),
            )
        return cls(
            applicant_id=portal.applicant.id,
            first_name=portal.applicant.first_name,
            status=portal.applicant.status,
            application=PublicApplication.of(portal.application),
            stage=stage,
        )


def _portal_answers(portal: Portal, asked: set[str]) -> dict[str, Any]:
    """The current stage's answers; a file answer as its uploads (id, name, type, size, scan status)."""
    uploads = {document.id: DocumentSummary.of(document) for document in portal.documents}
    file_questions = (
        {q.id for q in portal.stage.questions if q.type is QuestionType.FILE} if portal.stage else set()
    )
    shown: dict[str, Any] = {}
    for question_id, answer in portal.applicant.answers.items():
        if question_id not in asked:
            continue
        if question_id in file_questions and isinstance(answer, list):
            shown[question_id] = [uploads[i].model_dump(mode="json") for i in answer if i in uploads]
        else:
            shown[question_id] = answer
    return shown


class VisitOut(BaseModel):
    stage_id: str
    entered_at: datetime
    entered_by: Mover
    exited_at: datetime | None
    exited_by: Mover | None


class DecisionOut(BaseModel):
    action: DecisionAction
    from_status: ApplicantStatus
    to_status: ApplicantStatus
    stage_id: str | None
    reason_id: str | None = Field(description="the rejection reason; it may have been deleted since")
    reason_label: str | None = Field(description="the reason's label when the decision was made")
    note: str
    by: Mover
    at: datetime

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        return cls(**decision.model_dump())


class ApplicantSummary(BaseModel):
    id: str
    email: str | None
    first_name: str
    last_name: str
    status: ApplicantStatus
    stage_id: str | None
    stage_entered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, applicant: Applicant) -> ApplicantSummary:
        return cls(
            id=applicant.id,
            email=applicant.email,
            first_name=applicant.first_name,
            last_name=applicant.last_name,
            status=applicant.status,
            stage_id=applicant.stage_id,
            stage_entered_at=applicant.stage_entered_at,
            created_at=applicant.created_at,
        )


class ApplicantPage(BaseModel):
    applicants: list[ApplicantSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")

    @classmethod
    def of(cls, page: Page) -> ApplicantPage:
        return cls(applicants=[ApplicantSummary.of(a) for a in page.applicants], next_cursor=page.next_cursor)


class ApplicantOut(ApplicantSummary):
    application_id: str
    answers: dict[str, Any]
    history: list[VisitOut]
    decisions: list[DecisionOut] = Field(description="rejections, reopenings, acceptances, withdrawals")
    idle_deadline: datetime | None

    @classmethod
    def of(cls, applicant: Applicant) -> ApplicantOut:
        return cls(
            **ApplicantSummary.of(applicant).model_dump(),
            application_id=applicant.application_id,
            answers=applicant.answers,
            idle_deadline=applicant.idle_deadline,
            history=[VisitOut(**v.model_dump()) for v in applicant.history],
            decisions=[DecisionOut.of(d) for d in applicant.decisions],
        )
