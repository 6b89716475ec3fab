"""The model of each event type's `data`: the public contract. Webhooks deliver them and
/openapi.json publishes them (its `webhooks` section), so `Dependencies.event` validates every event's
data against its type's model before the event exists, and stores the model's JSON dump, nothing more.

Apart from `plutomi.domain.events` (the envelope and the type names) so that a function loads these
models only when it emits an event or describes them; each model's validator is built on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from plutomi.domain import events
from plutomi.domain.models import Role
from plutomi.domain.movers import Mover


class Payload(BaseModel):
    """An event's `data`. Frozen, and no field beyond those declared: the contract is exact.

    Each model's validator is built when first used (`defer_build`): a function emits a few event
    types, and its cold start need not build all of them."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Actor(Mover):
    """Who did it: `kind` and `id`: a `user` and their user id, a `rule` or the idle `sweeper` and the
    rule's id, or the `applicant` (no id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- a person's own events (never delivered)


class TotpRequested(Payload):
    """Someone asked for a sign-in code; the notifications consumer issues it and emails it (the code
    never travels in an event)."""

    email: str
    requested_at: datetime
    slot_id: str = Field(description="the sending slot claimed for this code")
    slot_claim: str = Field(description="proves the claim on the slot to the consumer")


class UserCreated(Payload):
    """A person signed in for the first time."""

    user_id: str
    email: str


class UserUpdated(Payload):
    """A person changed their profile."""

    user_id: str
    changed: list[Literal["first_name", "last_name"]]


# ---------------------------------------------------------------- an org's events


class OrgCreated(Payload):
    """An organisation was created; its creator is its first owner (no webhook of it exists yet)."""

    org_id: str
    display_name: str
    by: str = Field(description="the user id")


class OrgUpdated(Payload):
    """An organisation was renamed."""

    org_id: str
    display_name: str
    by: str = Field(description="the user id")


class OrgDeleted(Payload):
    """An organisation was deleted (its data is purged in the background; never delivered)."""

    org_id: str
    by: str = Field(description="the user id")


class MemberRoleChanged(Payload):
    """An owner changed a member's role."""

    user_id: str
    from_role: Role = Field(alias="from")
    to_role: Role = Field(alias="to")
    by: str = Field(description="the user id")


class MemberRemoved(Payload):
    """A member was removed from the organisation, or left it."""

    user_id: str
    by: str = Field(description="the user id (the member's own when they left)")


class InviteCreated(Payload):
    """Someone was invited to the organisation (the notifications consumer emails them)."""

    invite_id: str
    email: str
    role: Role
    org_display_name: str
    inviter_email: str
    expires_at: datetime


class InviteCanceled(Payload):
    """A pending invite was canceled."""

    invite_id: str
    email: str
    by: str = Field(description="the user id")


class InviteAccepted(Payload):
    """An invite was accepted: its person is a member now."""

    invite_id: str
    user_id: str
    role: Role


class InviteDeclined(Payload):
    """An invite was declined."""

    invite_id: str
    user_id: str


class ApplicationCreated(Payload):
    """An application was created (as a draft)."""

    application_id: str
    name: str


class ApplicationUpdated(Payload):
    """An application's name, description or status changed."""

    application_id: str
    changed: list[Literal["description", "name", "status"]]


class ApplicationOpened(Payload):
    """An application opened: people can apply."""

    application_id: str


class ApplicationClosed(Payload):
    """An open application was closed or put back to draft: nobody can apply."""

    application_id: str
    status: Literal["closed", "draft"]


class ApplicationDeleted(Payload):
    """An application without applicants was deleted, with its stages."""

    application_id: str


class StageCreated(Payload):
    """A stage was added to an application."""

    application_id: str
    stage_id: str
    name: str


class StageUpdated(Payload):
    """A stage was renamed or moved, or its questions or rules changed."""

    application_id: str
    stage_id: str


class StageDeleted(Payload):
    """A stage was deleted."""

    application_id: str
    stage_id: str


class ApplicantCreated(Payload):
    """Someone applied: they are in the application's first stage (and get their portal link)."""

    applicant_id: str
    application_id: str
    stage_id: str


class ApplicantLinkRequested(Payload):
    """An applicant applied again: a new portal link is emailed."""

    applicant_id: str
    application_id: str


class ApplicantAnswered(Payload):
    """An applicant answered questions of their stage."""

    applicant_id: str
    application_id: str
    stage_id: str
    question_ids: list[str]
    completed: bool = Field(description="whether every required question of the stage is answered now")


class ApplicantMoved(Payload):
    """An applicant moved to another stage: by a recruiter, an answer rule or the idle sweeper."""

    applicant_id: str
    application_id: str
    from_stage_id: str
    to_stage_id: str
    by: Actor
    send_email: bool = Field(description="false when the recruiter's move asked for no email")


class ApplicantDeleted(Payload):
    """An applicant was erased (their answers and personal data are gone)."""

    applicant_id: str
    application_id: str


class WebhookCreated(Payload):
    """A webhook was created."""

    webhook_id: str
    url: str
    event_types: list[str]
    by: str = Field(description="the user id")


class WebhookDeleted(Payload):
    """A webhook was deleted."""

    webhook_id: str
    by: str = Field(description="the user id")


class ApplicantDecision(Payload):
    applicant_id: str
    application_id: str
    stage_id: str | None = Field(description="the stage the applicant was in")
    by: Actor


class ApplicantRejected(ApplicantDecision):
    """A recruiter rejected an applicant with one of the org's rejection reasons (the note, for
    recruiters only, is not in the event)."""

    reason_id: str
    send_email: bool = Field(description="false when the recruiter asked for no rejection email")


class ApplicantReopened(ApplicantDecision):
    """A recruiter reopened a rejected or accepted applicant: they are active again."""


class ApplicantAccepted(ApplicantDecision):
    """A recruiter made the final, positive decision (hired, admitted)."""


class ApplicantWithdrew(ApplicantDecision):
    """The applicant withdrew from their private link."""


class RejectionReasonChanged(Payload):
    reason_id: str
    by: str = Field(description="the user id")


class RejectionReasonCreated(RejectionReasonChanged):
    """An admin added a rejection reason to the org's list."""


class RejectionReasonUpdated(RejectionReasonChanged):
    """An admin renamed a rejection reason (past decisions keep the label they were made with)."""


class RejectionReasonDeleted(RejectionReasonChanged):
    """An admin deleted a rejection reason (past decisions keep its label)."""


class EmailTemplateChanged(Payload):
    template_id: str
    kind: Literal["rejected", "stage_entered"]
    application_id: str | None = Field(description="for a stage's entry email")
    stage_id: str | None = Field(description="for a stage's entry email")
    by: str = Field(description="the user id")


class EmailTemplateUpdated(EmailTemplateChanged):
    """An admin saved one of the org's decision email templates (the text is not in the event)."""


class EmailTemplateDeleted(EmailTemplateChanged):
    """An admin deleted a decision email template: the built-in default applies again (for a stage:
    no entry email)."""


class DocumentUploaded(Payload):
    """An applicant's upload passed its checks (size, and first bytes matching the declared type) and
    counts as their answer to a file question (the file name and the file itself are not in the event)."""

    document_id: str
    applicant_id: str
    application_id: str
    stage_id: str
    question_id: str
    content_type: str = Field(description="what the first bytes show, one of the allowed types")
    size_bytes: int


class DocumentScanned(Payload):
    """The malware scanner reported on a document: `clean`, `infected` (it can no longer be opened) or
    `failed` (it could not be scanned)."""

    document_id: str
    applicant_id: str
    application_id: str
    scan_status: Literal["clean", "infected", "failed"]


# Every event type and the model of its data: the one list of event types.
PAYLOADS: Mapping[str, type[Payload]] = {
    events.TOTP_REQUESTED: TotpRequested,
    events.USER_CREATED: UserCreated,
    events.USER_UPDATED: UserUpdated,
    events.ORG_CREATED: OrgCreated,
    events.ORG_UPDATED: OrgUpdated,
    events.ORG_DELETED: OrgDeleted,
    events.MEMBER_ROLE_CHANGED: MemberRoleChanged,
    events.MEMBER_REMOVED: MemberRemoved,
    events.INVITE_CREATED: InviteCreated,
    events.INVITE_CANCELED: InviteCanceled,
    events.INVITE_ACCEPTED: InviteAccepted,
    events.INVITE_DECLINED: InviteDeclined,
    events.APPLICATION_CREATED: ApplicationCreated,
    events.APPLICATION_UPDATED: ApplicationUpdated,
    events.APPLICATION_OPENED: ApplicationOpened,
    events.APPLICATION_CLOSED: ApplicationClosed,
    events.APPLICATION_DELETED: ApplicationDeleted,
    events.STAGE_CREATED: StageCreated,
    events.STAGE_UPDATED: StageUpdated,
    events.STAGE_DELETED: StageDeleted,
    events.APPLICANT_CREATED: ApplicantCreated,
    events.APPLICANT_LINK_REQUESTED: ApplicantLinkRequested,
    events.APPLICANT_ANSWERED: ApplicantAnswered,
    events.APPLICANT_MOVED: ApplicantMoved,
    events.APPLICANT_DELETED: ApplicantDeleted,
    events.WEBHOOK_CREATED: WebhookCreated,
    events.WEBHOOK_DELETED: WebhookDeleted,
    events.EMAIL_TEMPLATE_UPDATED: EmailTemplateUpdated,
    events.EMAIL_TEMPLATE_DELETED: EmailTemplateDeleted,
    events.APPLICANT_REJECTED: ApplicantRejected,
    events.APPLICANT_REOPENED: ApplicantReopened,
    events.APPLICANT_ACCEPTED: ApplicantAccepted,
    events.APPLICANT_WITHDRAWN: ApplicantWithdrew,
    events.REJECTION_REASON_CREATED: RejectionReasonCreated,
    events.REJECTION_REASON_UPDATED: RejectionReasonUpdated,
    events.REJECTION_REASON_DELETED: RejectionReasonDeleted,
    events.DOCUMENT_UPLOADED: DocumentUploaded,
    events.DOCUMENT_SCANNED: DocumentScanned,
}


def happens_when(event_type: str) -> str:
    """When an event of the type happens: its payload model's docstring, on one line."""
    return " ".join((PAYLOADS[event_type].__doc__ or "").split())


class EventDataMismatch(ValueError):
    """An event's data does not match its type's model: a programmer error, raised where it is emitted."""


def validated_data(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` checked against the type's model as it will travel, as JSON (strictly: no "3" for a
    number, no 1 for a string), and returned as the model's JSON dump. The message names the fields
    and what is wrong with them, never their values (data may hold addresses and slot claims)."""
    model = PAYLOADS.get(event_type)
    if model is None:
        raise EventDataMismatch(f"unknown event type {event_type!r}; add it to plutomi.domain.event_payloads")
    try:
        payload = model.model_validate_json(to_json(data), strict=True)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'data'}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        )
        raise EventDataMismatch(f"{event_type} data does not match {model.__name__}: {problems}") from None
    dumped: dict[str, Any] = payload.model_dump(mode="json", by_alias=True)
    return dumped
