"""Event envelope and the names of the event types. Subjects are `events.<entity>.<action>`. Each
type's `data` has its model in `plutomi.domain.event_payloads` (the public contract), kept apart so
that a function loads those models only when it emits an event or describes them.

To add an event type: a constant below and its place in `EVENT_TYPES`, a payload model in
`event_payloads` (a `Payload` whose docstring says when the event happens, with exactly the fields
emitted: ids and metadata, never names, emails, notes, links or secrets in new events), and its entry
in `PAYLOADS` there (tests/unit/test_event_contracts.py checks that `PAYLOADS` names exactly
`EVENT_TYPES`). Everything else that lists event types derives from `EVENT_TYPES` (webhooks'
ORG_EVENT_TYPES) or `PAYLOADS` (the OpenAPI document); the catalogue in docs/api.md ("Webhooks") is
checked against them by tests/unit/test_event_contracts.py, which prints the rows to paste.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

SUBJECT_PREFIX = "events"

TOTP_REQUESTED = "totp.requested"
USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
ORG_CREATED = "org.created"
ORG_UPDATED = "org.updated"
ORG_DELETED = "org.deleted"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_REMOVED = "member.removed"
INVITE_CREATED = "invite.created"
INVITE_CANCELED = "invite.canceled"
INVITE_ACCEPTED = "invite.accepted"
INVITE_DECLINED = "invite.declined"
APPLICATION_CREATED = "application.created"
APPLICATION_UPDATED = "application.updated"
APPLICATION_OPENED = "application.opened"
APPLICATION_CLOSED = "application.closed"
APPLICATION_DELETED = "application.deleted"
STAGE_CREATED = "stage.created"
STAGE_UPDATED = "stage.updated"
STAGE_DELETED = "stage.deleted"
APPLICANT_CREATED = "applicant.created"
APPLICANT_LINK_REQUESTED = "applicant.link_requested"
APPLICANT_ANSWERED = "applicant.answered"
APPLICANT_MOVED = "applicant.moved"
APPLICANT_DELETED = "applicant.deleted"
WEBHOOK_CREATED = "webhook.created"
WEBHOOK_DELETED = "webhook.deleted"
EMAIL_TEMPLATE_UPDATED = "email_template.updated"
EMAIL_TEMPLATE_DELETED = "email_template.deleted"
APPLICANT_REJECTED = "applicant.rejected"
APPLICANT_REOPENED = "applicant.reopened"
APPLICANT_ACCEPTED = "applicant.accepted"
APPLICANT_WITHDRAWN = "applicant.withdrawn"
REJECTION_REASON_CREATED = "rejection_reason.created"
REJECTION_REASON_UPDATED = "rejection_reason.updated"
REJECTION_REASON_DELETED = "rejection_reason.deleted"
DOCUMENT_UPLOADED = "document.uploaded"
DOCUMENT_SCANNED = "document.scanned"

# Every event type; `event_payloads.PAYLOADS` gives each its model (tests check both name the same).
EVENT_TYPES = frozenset(
    {
        TOTP_REQUESTED,
        USER_CREATED,
        USER_UPDATED,
        ORG_CREATED,
        ORG_UPDATED,
        ORG_DELETED,
        MEMBER_ROLE_CHANGED,
        MEMBER_REMOVED,
        INVITE_CREATED,
        INVITE_CANCELED,
        INVITE_ACCEPTED,
        INVITE_DECLINED,
        APPLICATION_CREATED,
        APPLICATION_UPDATED,
        APPLICATION_OPENED,
        APPLICATION_CLOSED,
        APPLICATION_DELETED,
        STAGE_CREATED,
        STAGE_UPDATED,
        STAGE_DELETED,
        APPLICANT_CREATED,
        APPLICANT_LINK_REQUESTED,
        APPLICANT_ANSWERED,
        APPLICANT_MOVED,
        APPLICANT_DELETED,
        WEBHOOK_CREATED,
        WEBHOOK_DELETED,
        EMAIL_TEMPLATE_UPDATED,
        EMAIL_TEMPLATE_DELETED,
        APPLICANT_REJECTED,
        APPLICANT_REOPENED,
        APPLICANT_ACCEPTED,
        APPLICANT_WITHDRAWN,
        REJECTION_REASON_CREATED,
        REJECTION_REASON_UPDATED,
        REJECTION_REASON_DELETED,
        DOCUMENT_UPLOADED,
        DOCUMENT_SCANNED,
    }
)


class Event(BaseModel):
    """The envelope on the wire. `id` doubles as the JetStream `Nats-Msg-Id`."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    version: int = 1
    org_id: str | None
    occurred_at: datetime
    data: dict[str, Any]

    @property
    def subject(self) -> str:
        return subject_for(self.type)


def subject_for(event_type: str) -> str:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return f"{SUBJECT_PREFIX}.{event_type}"
