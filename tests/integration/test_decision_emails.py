"""Decision emails through the notifications consumer, called as Lambda calls it: the org's templates
saved through the use case, events built as the decision and move use cases emit them, real moto SES
and the suppression list in nx-27017."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from plutomi.domain import events
from plutomi.domain.applicants import Applicant, StageVisit
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.email_feedback import Suppression, SuppressionReason, SuppressionScope
from plutomi.domain.models import Membership, Role
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import Application, ApplicationStatus, Stage
from plutomi.services import applicants, email_templates
from plutomi.services.auth import Principal
from plutomi.services.email_templates import Target
from plutomi.services.ports import Dependencies
from tests.conftest import stored_org, unique_email, unique_org_id
from tests.integration.test_notifications_consumer import HOSTILE, NO_FAILURES, VICTIM, invoke, sent_to
from tests.integration.test_org_purge import person

LINK = re.compile(r"https?://\S+/portal/(apl_\w+\.\S+)")


@dataclass
class Org:
    org_id: str
    admin: Principal
    application: Application
    stages: list[Stage]


def admin_of(deps: Dependencies, org_id: str) -> Principal:
    admin = person(deps, "admin")
    now = deps.clock.now()
    deps.store.memberships.create(
        Membership(
            id=deps.clock.new_id("mem"),
            org_id=org_id,
            user_id=admin.user.id,
            email=admin.user.email,
            role=Role.ADMIN,
            created_at=now,
            updated_at=now,
        )
    )
    return admin


def an_org(
    deps: Dependencies, label: str, display_name: str = "Acme Deliveries", app_name: str = "Drivers"
) -> Org:
    org_id = unique_org_id(label)
    stored_org(deps, org_id, display_name)
    now = deps.clock.now()
    application = Application(
        id=deps.clock.new_id("app"),
        org_id=org_id,
        name=app_name,
        status=ApplicationStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    stages = [
        Stage(
            id=deps.clock.new_id("stg"),
            org_id=org_id,
            application_id=application.id,
            name=name,
            created_at=now,
            updated_at=now,
        )
        for name in ("Document Upload", "Final Review")
    ]
    for stage in stages:
        deps.store.stages.create(stage)
    deps.store.applications.create(application.model_copy(update={"stage_ids": [s.id for s in stages]}))
    return Org(org_id, admin_of(deps, org_id), application, stages)


def an_applicant(
    deps: Dependencies, org: Org, stage: Stage, status: ApplicantStatus, first_name: str = "Ann"
) -> Applicant:
    now = deps.clock.now()
    applicant = Applicant(
        id=deps.clock.new_id("apl"),
        org_id=org.org_id,
        application_id=org.application.id,
        email=unique_email("decided"),
        first_name=first_name,
        last_name="Lee",
        stage_id=stage.id,
        stage_entered_at=now,
        history=[StageVisit(stage_id=stage.id, entered_at=now, entered_by=Mover(kind="applicant"))],
        status=status,
        created_at=now,
        updated_at=now,
    )
    deps.store.applicants.create(applicant)
    return applicant


def rejected_event(deps: Dependencies, applicant: Applicant, org: Org, **overrides: Any) -> str:
    data = {  # what the decisions use case emits
        "applicant_id": applicant.id,
        "application_id": applicant.application_id,
        "stage_id": applicant.stage_id,
        "reason_id": "rjr_not_used_in_emails",
        "by": {"kind": "user", "id": org.admin.user.id},
        "send_email": True,
        **overrides,
    }
    return deps.event(events.APPLICANT_REJECTED, org.org_id, data).model_dump_json()


def moved_event(
    deps: Dependencies, applicant: Applicant, source: Stage, target: Stage, send_email: bool
) -> str:
    data = {
        "applicant_id": applicant.id,
        "application_id": applicant.application_id,
        "from_stage_id": source.id,
        "to_stage_id": target.id,
        "by": {"kind": "rule", "id": "rul_x"},
        "send_email": send_email,
    }
    return deps.event(events.APPLICANT_MOVED, source.org_id, data).model_dump_json()


def save_rejected(deps: Dependencies, org: Org, subject: str, body: str) -> None:
    email_templates.put_template(deps, org.admin, org.org_id, Target.rejected(), subject, body)


def save_stage(deps: Dependencies, org: Org, stage: Stage, subject: str, body: str) -> None:
    target = Target.stage_entered(org.application.id, stage.id)
    email_templates.put_template(deps, org.admin, org.org_id, target, subject, body)


def test_a_rejection_sends_the_orgs_template_once_with_a_working_portal_link(deps: Dependencies) -> None:
    org = an_org(deps, "reject")
    save_rejected(
        deps,
        org,
        "About {{application}}",
        "Dear {{first_name}},\nwe at {{org}} will not continue after {{stage}}.\nYour page: {{portal_link}}",
    )
    applicant = an_applicant(deps, org, org.stages[1], ApplicantStatus.REJECTED)
    assert applicant.email is not None
    body = rejected_event(deps, applicant, org)

    assert invoke(body)[0] == NO_FAILURES
    assert invoke(body)[0] == NO_FAILURES  # redelivered: still one email
    [mail] = sent_to(deps, applicant.email)
    assert mail.subject == "About Drivers"
    assert mail.text.startswith("Dear Ann,\nwe at Acme Deliveries will not continue after Final Review.\n")
    assert "rjr_not_used_in_emails" not in mail.text + (mail.html or "")
    assert "updates about your applications" in mail.text and "List-Unsubscribe" in mail.headers
    found = LINK.search(mail.text)
    assert found is not None
    assert applicants.portal(deps, found.group(1)).applicant.id == applicant.id


def test_without_a_template_the_default_rejection_goes_without_minting_a_link(deps: Dependencies) -> None:
    org = an_org(deps, "reject-default")
    applicant = an_applicant(deps, org, org.stages[0], ApplicantStatus.REJECTED)
    assert applicant.email is not None

    assert invoke(rejected_event(deps, applicant, org))[0] == NO_FAILURES
    [mail] = sent_to(deps, applicant.email)
    assert mail.subject == "Your application to Drivers"
    assert mail.text.startswith("Hi Ann,\n\nThank you for applying to Drivers at Acme Deliveries.")
    stored = deps.store.applicants.get(org.org_id, applicant.id)
    assert stored is not None and stored.portal_secret_hashes == []


def test_no_email_when_the_decision_said_not_to_send_one(deps: Dependencies) -> None:
    """`send_email` is always a boolean: the event's contract (domain/events.py) refuses anything else."""
    org = an_org(deps, "quiet-reject")
    applicant = an_applicant(deps, org, org.stages[0], ApplicantStatus.REJECTED)
    assert applicant.email is not None
    assert invoke(rejected_event(deps, applicant, org, send_email=False))[0] == NO_FAILURES
    assert sent_to(deps, applicant.email) == []


def test_an_unsubscribed_or_bounced_address_gets_no_decision_email(deps: Dependencies) -> None:
    org = an_org(deps, "suppressed")
    now = deps.clock.now()
    for scope, reason in (
        (SuppressionScope.NON_ESSENTIAL, SuppressionReason.UNSUBSCRIBED),
        (SuppressionScope.ALL, SuppressionReason.BOUNCE),
    ):
        applicant = an_applicant(deps, org, org.stages[0], ApplicantStatus.REJECTED)
        assert applicant.email is not None
        deps.store.suppressions.add(
            Suppression(
                id=deps.clock.new_id("sup"),
                email=applicant.email,
                scope=scope,
                reason=reason,
                created_at=now,
                updated_at=now,
            )
        )
        assert invoke(rejected_event(deps, applicant, org))[0] == NO_FAILURES
        assert sent_to(deps, applicant.email) == []


def test_a_rejection_reopened_before_the_email_went_sends_nothing(deps: Dependencies) -> None:
    org = an_org(deps, "reopened")
    applicant = an_applicant(deps, org, org.stages[0], ApplicantStatus.REJECTED)
    assert applicant.email is not None
    body = rejected_event(deps, applicant, org)
    reopened = applicant.model_copy(update={"status": ApplicantStatus.ACTIVE})
    assert deps.store.applicants.save(applicant, reopened, deps.clock.now()) is not None

    assert invoke(body)[0] == NO_FAILURES
    assert sent_to(deps, applicant.email) == []


def test_an_erased_applicant_or_a_deleted_org_gets_nothing(deps: Dependencies) -> None:
    org = an_org(deps, "erased")
    applicant = an_applicant(deps, org, org.stages[0], ApplicantStatus.REJECTED)
    assert applicant.email is not None
    address = applicant.email
    body = rejected_event(deps, applicant, org)
    erased = applicant.model_copy(update={"deleted_at": deps.clock.now(), "email": None, "first_name": ""})
    assert deps.store.applicants.save(applicant, erased, deps.clock.now()) is not None
    assert invoke(body)[0] == NO_FAILURES
    assert sent_to(deps, address) == []

    other = an_applicant(deps, org, org.stages[0], ApplicantStatus.REJECTED)
    assert other.email is not None
    stored = deps.store.orgs.get(org.org_id)
    assert stored is not None
    assert deps.store.orgs.tombstone(stored.model_copy(update={"deleted_at": deps.clock.now()}))
    assert invoke(rejected_event(deps, other, org))[0] == NO_FAILURES
    assert sent_to(deps, other.email) == []


def test_entering_a_stage_sends_its_template_only_when_it_has_one(deps: Dependencies) -> None:
    org = an_org(deps, "entered")
    upload, review = org.stages
    save_stage(
        deps, org, review, "{{org}}: {{stage}}", "Hi {{first_name}}, you are in {{stage}}: {{portal_link}}"
    )

    into_review = an_applicant(deps, org, review, ApplicantStatus.ACTIVE)
    assert into_review.email is not None
    assert invoke(moved_event(deps, into_review, upload, review, send_email=True))[0] == NO_FAILURES
    [mail] = sent_to(deps, into_review.email)
    assert mail.subject == "Acme Deliveries: Final Review"
    found = LINK.search(mail.text)
    assert mail.text.startswith("Hi Ann, you are in Final Review: ") and found is not None
    assert applicants.portal(deps, found.group(1)).applicant.id == into_review.id

    # The stage without a template sends nothing, and neither does a move that said not to.
    into_upload = an_applicant(deps, org, upload, ApplicantStatus.ACTIVE)
    assert into_upload.email is not None
    assert invoke(moved_event(deps, into_upload, review, upload, send_email=True))[0] == NO_FAILURES
    assert sent_to(deps, into_upload.email) == []
    quiet = an_applicant(deps, org, review, ApplicantStatus.ACTIVE)
    assert quiet.email is not None
    assert invoke(moved_event(deps, quiet, upload, review, send_email=False))[0] == NO_FAILURES
    assert sent_to(deps, quiet.email) == []

    # Deleting the template stops the email again.
    email_templates.delete_template(
        deps, org.admin, org.org_id, Target.stage_entered(org.application.id, review.id)
    )
    again = an_applicant(deps, org, review, ApplicantStatus.ACTIVE)
    assert again.email is not None
    assert invoke(moved_event(deps, again, upload, review, send_email=True))[0] == NO_FAILURES
    assert sent_to(deps, again.email) == []


def test_no_stage_email_once_the_applicant_left_the_stage_or_was_decided(deps: Dependencies) -> None:
    org = an_org(deps, "left")
    upload, review = org.stages
    save_stage(deps, org, review, "In {{stage}}", "Welcome to {{stage}}")
    left = an_applicant(deps, org, upload, ApplicantStatus.ACTIVE)  # moved on to Upload meanwhile
    rejected = an_applicant(deps, org, review, ApplicantStatus.REJECTED)
    for applicant in (left, rejected):
        assert applicant.email is not None
        assert invoke(moved_event(deps, applicant, upload, review, send_email=True))[0] == NO_FAILURES
        assert sent_to(deps, applicant.email) == []


def test_hostile_names_and_template_text_make_a_safe_email(deps: Dependencies) -> None:
    org = an_org(deps, "hostile", display_name=f"Night Owls{HOSTILE}", app_name="<script>x</script>{{org}}")
    save_rejected(
        deps,
        org,
        "{{application}} {{first_name}}",
        '<a href="https://evil.example">{{org}}</a>\n{{first_name}}\n{{ portal_link }}',
    )
    applicant = an_applicant(deps, org, org.stages[0], ApplicantStatus.REJECTED, first_name=f"Ann{HOSTILE}")
    assert applicant.email is not None

    assert invoke(rejected_event(deps, applicant, org))[0] == NO_FAILURES
    [mail] = sent_to(deps, applicant.email)
    assert mail.to == (applicant.email,)
    assert not {name.lower() for name in mail.headers} & {"bcc", "cc", "x-injected"}
    assert "\n" not in mail.subject and "\r" not in mail.subject
    # A long subject is folded before its first word; unfolding leaves that space in front.
    assert mail.subject.lstrip().startswith("<script>x</script>{{org}} Ann Bcc: victim@example.com X-Inj")
    html = mail.html or ""
    for part in (mail.subject, mail.text, html):
        assert not any(char in part for char in "\x00\x07\x1b\u202e\ufeff"), repr(part)
    assert "<script>" not in html and 'href="https://evil.example"' not in html
    assert "&lt;a href=&quot;https://evil.example&quot;&gt;" in html
    assert "{{org}}" in html  # the application's name as typed, not expanded
    assert sum(1 for _ in re.finditer("<a ", html)) == 2  # our portal link and the unsubscribe link
    assert sent_to(deps, VICTIM) == []
