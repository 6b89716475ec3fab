"""Event envelope and the catalogue of event types. Subjects are `events.<entity>.<action>`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

SUBJECT_PREFIX = "events"

TOTP_REQUESTED = "totp.requested"
USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
SESSION_CREATED = "session.created"
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
DOCUMENT_UPLOADED = "document.uploaded"
DOCUMENT_SCANNED = "document.scanned"

EVENT_TYPES = frozenset(
    {
        TOTP_REQUESTED,
        USER_CREATED,
        USER_UPDATED,
        SESSION_CREATED,
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
