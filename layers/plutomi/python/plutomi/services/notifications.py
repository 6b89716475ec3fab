"""Turns events into emails. Events this consumer has no email for are acknowledged and ignored."""

from __future__ import annotations

from plutomi.config import Settings
from plutomi.domain import events
from plutomi.domain.emails import OutgoingEmail, invite_email, login_code_email
from plutomi.domain.events import Event
from plutomi.domain.identity import CODE_TTL
from plutomi.services.ports import Mailer

SUBSCRIBED = (events.TOTP_REQUESTED, events.INVITE_CREATED)


def email_for(event: Event, settings: Settings) -> OutgoingEmail | None:
    data = event.data
    if event.type == events.TOTP_REQUESTED:
        return login_code_email(data["email"], data["code"], int(CODE_TTL.total_seconds() // 60))
    if event.type == events.INVITE_CREATED:
        return invite_email(
            to=data["email"],
            org_display_name=data["org_display_name"],
            inviter_email=data["inviter_email"],
            role=data["role"],
            accept_url=f"{settings.base_url}/invites",
        )
    return None


def notify(event: Event, mailer: Mailer, settings: Settings) -> str | None:
    """Sends the email the event calls for; returns the provider's message id, or None if none was due."""
    email = email_for(event, settings)
    if email is None:
        return None
    return mailer.send(email)
