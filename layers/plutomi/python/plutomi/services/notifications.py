"""Turns events into emails. Events this consumer has no email for are acknowledged and ignored.

Every email goes out through `email_feedback.send`: never to a suppressed address, always with an
unsubscribe link."""

from __future__ import annotations

from plutomi.domain import events
from plutomi.domain.emails import OutgoingEmail, applicant_link_email, invite_email, login_code_email
from plutomi.domain.events import Event
from plutomi.domain.identity import CODE_TTL
from plutomi.services import email_feedback
from plutomi.services.applicants import issue_portal_link
from plutomi.services.auth import issue_login_code
from plutomi.services.orgs import is_current
from plutomi.services.ports import Dependencies, Mailer


def email_for(event: Event, deps: Dependencies) -> OutgoingEmail | None:
    settings = deps.settings
    data = event.data
    if event.type == events.TOTP_REQUESTED:
        code = issue_login_code(deps, data["email"], data.get("slot_id"), data.get("slot_claim"))
        return login_code_email(data["email"], code, int(CODE_TTL.total_seconds() // 60))
    if event.type == events.INVITE_CREATED:
        return invite_email(
            to=data["email"],
            org_display_name=data["org_display_name"],
            inviter_email=data["inviter_email"],
            role=data["role"],
            accept_url=f"{settings.base_url}/invites",
        )
    if event.type in (events.APPLICANT_CREATED, events.APPLICANT_LINK_REQUESTED) and event.org_id:
        # The portal secret is minted here, never carried in an event (events are kept for weeks and
        # delivered to webhooks).
        issued = issue_portal_link(deps, event.org_id, data["applicant_id"])
        if issued is None:
            return None
        applicant, application, url = issued
        assert applicant.email is not None
        return applicant_link_email(applicant.email, applicant.first_name, application.name, url)
    return None


def notify(event: Event, mailer: Mailer, deps: Dependencies) -> str | None:
    """Sends the email the event calls for; returns the provider's message id, or None if none was due
    or the address is suppressed. Nothing for the events of an org that is being deleted."""
    if not is_current(deps, event):
        return None
    email = email_for(event, deps)
    if email is None:
        return None
    return email_feedback.send(deps, mailer, email)
