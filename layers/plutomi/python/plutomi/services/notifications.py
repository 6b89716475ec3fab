"""Turns events into emails. Events this consumer has no email for are acknowledged and ignored.

Every email goes out through `email_feedback.send`: never to a suppressed address, always with an
unsubscribe link.

Decision emails (`applicant.rejected`, and `applicant.moved` into a stage with an entry template) go
only when the event says `send_email` (a recruiter may choose not to), and only while they are still
true when the consumer gets to them: not to an erased applicant, not about a rejection that was
reopened, not about a stage the applicant has left. They are not essential: unsubscribing stops them.
A portal link is minted only when the template uses `{{portal_link}}`."""

from __future__ import annotations

from plutomi.domain import events
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.email_templates import TemplateValues, render, uses_portal_link
from plutomi.domain.emails import OutgoingEmail, applicant_link_email, invite_email, login_code_email
from plutomi.domain.events import Event
from plutomi.domain.identity import CODE_TTL
from plutomi.domain.links import INVITATIONS_PATH
from plutomi.services import email_feedback
from plutomi.services.applicants import issue_portal_link
from plutomi.services.auth import issue_login_code
from plutomi.services.email_templates import Target, TemplateView, effective_template
from plutomi.services.orgs import is_current, live_org
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
            accept_url=f"{settings.base_url}{INVITATIONS_PATH}",
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
    if event.type in (events.APPLICANT_REJECTED, events.APPLICANT_MOVED) and event.org_id:
        return decision_email(event, event.org_id, deps)
    return None


def decision_email(event: Event, org_id: str, deps: Dependencies) -> OutgoingEmail | None:
    data = event.data
    if data.get("send_email") is not True:  # absent in events from before decision emails: none
        return None
    org = live_org(deps, org_id)
    applicant = deps.store.applicants.get(org_id, data["applicant_id"])
    if org is None or applicant is None or applicant.is_deleted or applicant.email is None:
        return None
    template: TemplateView
    if event.type == events.APPLICANT_REJECTED:
        stage_id = data.get("stage_id")
        still_true = applicant.status is ApplicantStatus.REJECTED
        template = effective_template(deps, org_id, Target.rejected())
    else:
        stage_id = data["to_stage_id"]
        still_true = applicant.status is ApplicantStatus.ACTIVE and applicant.stage_id == stage_id
        target = Target.stage_entered(applicant.application_id, stage_id)
        template = effective_template(deps, org_id, target)
    if not still_true or not template.sends:
        return None
    application = deps.store.applications.get(org_id, applicant.application_id)
    if application is None:
        return None
    stage = deps.store.stages.get(org_id, application.id, stage_id) if stage_id else None
    link = ""
    if uses_portal_link(template.body):
        # Minted here, like the link email's: the secret never travels in an event.
        issued = issue_portal_link(deps, org_id, applicant.id)
        if issued is None:
            return None
        link = issued[2]
    values = TemplateValues(
        first_name=applicant.first_name,
        application=application.name,
        org=org.display_name,
        stage=stage.name if stage is not None else "",
        portal_link=link,
    )
    return render(template.subject, template.body, values).to(applicant.email)


def notify(event: Event, mailer: Mailer, deps: Dependencies) -> str | None:
    """Sends the email the event calls for; returns the provider's message id, or None if none was due
    or the address is suppressed. Nothing for the events of an org that is being deleted."""
    if not is_current(deps, event):
        return None
    email = email_for(event, deps)
    if email is None:
        return None
    return email_feedback.send(deps, mailer, email)
