"""Decision-email templates: an org's own "rejected" email and its per-stage "entered stage X" emails.

Members read them and preview them; admins and owners change them. An org that never wrote its
"rejected" template sends the built-in one; a stage sends no entry email until the org writes one
(its built-in default is shown, marked `is_default` and `sends: false`, as a starting point).
Deleting a template goes back to the default. Templates are parsed when saved
(`domain/email_templates.parse`), so a stored template always renders.

A preview renders a template (the stored or default one, or a subject and body not saved yet) with
a real applicant of the org, or with sample values; it never mints a portal link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plutomi.domain import events
from plutomi.domain.email_templates import (
    DEFAULTS,
    EmailTemplate,
    RenderedEmail,
    TemplateKind,
    TemplateValues,
    check_template,
    render,
)
from plutomi.domain.errors import Conflict, DuplicateItem, NotFound
from plutomi.domain.links import portal_path
from plutomi.domain.models import Role
from plutomi.domain.pipeline import Application, Stage
from plutomi.services.auth import Principal
from plutomi.services.designs import load_application, load_stage
from plutomi.services.moves import load_applicant
from plutomi.services.orgs import require_live_org, require_membership
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional

SAMPLE_FIRST_NAME = "Alex"
SAMPLE_APPLICATION = "Sample application"
SAMPLE_STAGE = "Sample stage"
PREVIEW_LINK_PATH = portal_path("preview-only-not-a-real-link")


@dataclass(frozen=True)
class Target:
    """Which template: the org's `rejected` one, or the `stage_entered` one of a stage."""

    kind: TemplateKind
    application_id: str | None = None
    stage_id: str | None = None

    @classmethod
    def rejected(cls) -> Target:
        return cls(TemplateKind.REJECTED)

    @classmethod
    def stage_entered(cls, application_id: str, stage_id: str) -> Target:
        return cls(TemplateKind.STAGE_ENTERED, application_id, stage_id)


@dataclass(frozen=True)
class TemplateView:
    target: Target
    subject: str
    body: str
    is_default: bool
    sends: bool  # whether the consumer sends it (a stage's default is never sent)
    updated_at: datetime | None = None

    @classmethod
    def of(cls, template: EmailTemplate) -> TemplateView:
        target = Target(template.kind, template.application_id, template.stage_id)
        return cls(target, template.subject, template.body, False, True, template.updated_at)

    @classmethod
    def default(cls, target: Target) -> TemplateView:
        default = DEFAULTS[target.kind]
        return cls(target, default.subject, default.body, True, target.kind is TemplateKind.REJECTED)


def effective_template(deps: Dependencies, org_id: str, target: Target) -> TemplateView:
    """The org's template for the target, or the built-in default."""
    stored = deps.store.email_templates.get(org_id, target.kind, target.stage_id)
    return TemplateView.of(stored) if stored is not None else TemplateView.default(target)


def _checked_stage(deps: Dependencies, org_id: str, target: Target) -> tuple[Application, Stage] | None:
    """The target's application and stage, checked to be the org's (404 otherwise)."""
    if target.application_id is None or target.stage_id is None:
        return None
    application = load_application(deps, org_id, target.application_id)
    return application, load_stage(deps, org_id, application.id, target.stage_id)


def list_templates(deps: Dependencies, principal: Principal, org_id: str) -> list[TemplateView]:
    """The org's `rejected` template (stored or default), then every stage template it wrote."""
    require_membership(deps, principal, org_id)
    stored = deps.store.email_templates.list_for_org(org_id)
    rejected = next((t for t in stored if t.kind is TemplateKind.REJECTED), None)
    views = [TemplateView.of(rejected) if rejected else TemplateView.default(Target.rejected())]
    return views + [TemplateView.of(t) for t in stored if t.kind is TemplateKind.STAGE_ENTERED]


def get_template(deps: Dependencies, principal: Principal, org_id: str, target: Target) -> TemplateView:
    require_membership(deps, principal, org_id)
    _checked_stage(deps, org_id, target)
    return effective_template(deps, org_id, target)


@transactional
def put_template(
    deps: Dependencies, principal: Principal, org_id: str, target: Target, subject: str, body: str
) -> TemplateView:
    """Stores the org's own text for the target (refused unless every placeholder is known)."""
    require_membership(deps, principal, org_id, Role.ADMIN)
    _checked_stage(deps, org_id, target)
    check_template(subject, body)
    now = deps.clock.now()
    before = deps.store.email_templates.get(org_id, target.kind, target.stage_id)
    changes = {"subject": subject, "body": body, "updated_by": principal.user.id, "updated_at": now}
    saved: EmailTemplate | None
    if before is None:
        saved = EmailTemplate(
            id=deps.clock.new_id("tpl"),
            org_id=org_id,
            kind=target.kind,
            application_id=target.application_id,
            stage_id=target.stage_id,
            created_at=now,
            **changes,
        )
        try:
            deps.store.email_templates.create(saved)
        except DuplicateItem:
            saved = None
    else:
        saved = deps.store.email_templates.replace(before, before.model_copy(update=changes))
    if saved is None:
        raise Conflict(
            "concurrent_change", "Someone else saved this template at the same moment; reload and retry"
        )
    deps.emit(events.EMAIL_TEMPLATE_UPDATED, org_id, _event_data(saved, principal))
    return TemplateView.of(saved)


@transactional
def delete_template(deps: Dependencies, principal: Principal, org_id: str, target: Target) -> None:
    """Back to the default (for a stage: no entry email). Idempotent."""
    require_membership(deps, principal, org_id, Role.ADMIN)
    _checked_stage(deps, org_id, target)
    deleted = deps.store.email_templates.delete(org_id, target.kind, target.stage_id)
    if deleted is not None:
        deps.emit(events.EMAIL_TEMPLATE_DELETED, org_id, _event_data(deleted, principal))


def _event_data(template: EmailTemplate, principal: Principal) -> dict[str, str | None]:
    """Ids and the kind only: never the text."""
    return {
        "template_id": template.id,
        "kind": template.kind.value,
        "application_id": template.application_id,
        "stage_id": template.stage_id,
        "by": principal.user.id,
    }


def preview(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    target: Target,
    subject: str | None = None,
    body: str | None = None,
    applicant_id: str | None = None,
) -> RenderedEmail:
    """The email the template makes: the stored (or default) text unless `subject` or `body` is
    given, with the applicant's values (one of this org's) or sample ones. The link is a stand-in."""
    require_membership(deps, principal, org_id)
    org = require_live_org(deps, org_id, NotFound("org_not_found", f"No organisation {org_id!r} among yours"))
    designed = _checked_stage(deps, org_id, target)
    current = effective_template(deps, org_id, target)
    subject = current.subject if subject is None else subject
    body = current.body if body is None else body
    check_template(subject, body)
    first_name = SAMPLE_FIRST_NAME
    application_name, stage_name = (
        (designed[0].name, designed[1].name) if designed else (SAMPLE_APPLICATION, SAMPLE_STAGE)
    )
    if applicant_id is not None:
        applicant = load_applicant(deps, org_id, applicant_id)
        first_name = applicant.first_name
        if designed is None:  # the rejected email: the applicant's own application and stage
            application_name = load_application(deps, org_id, applicant.application_id).name
            in_stage = (
                deps.store.stages.get(org_id, applicant.application_id, applicant.stage_id)
                if applicant.stage_id
                else None
            )
            stage_name = in_stage.name if in_stage is not None else ""
    values = TemplateValues(
        first_name=first_name,
        application=application_name,
        org=org.display_name,
        stage=stage_name,
        portal_link=f"{deps.settings.base_url}{PREVIEW_LINK_PATH}",
    )
    return render(subject, body, values)
