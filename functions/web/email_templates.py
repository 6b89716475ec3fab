"""Decision-email templates: the org's "rejected" email and each stage's "entered stage" email; edit
with the placeholder help, preview (the service renders it), and go back to the default."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import Forbidden, InvalidFields, InvalidInput, PlutomiError
from plutomi.domain.pipeline import Stage
from plutomi.entrypoints import email_template_schemas as schemas
from plutomi.services import applications, email_templates
from plutomi.services.auth import Principal
from plutomi.services.email_templates import Target
from plutomi.web import pages
from plutomi.web.refusal import status_of

router = pages.Router()
TEMPLATES = "/app/<org_id>/settings/email-templates"
REJECTED = f"{TEMPLATES}/rejected"
STAGE = f"{TEMPLATES}/stages/<application_id>/<stage_id>"


@router.get(TEMPLATES)
def list_templates(org_id: str) -> Response[str]:
    me = pages.signed_in(router)
    deps = dependencies()
    written = {view.target.stage_id for view in email_templates.list_templates(deps, me, org_id)}
    designs = [
        applications.get_design(deps, me, org_id, application.id)
        for application in applications.list_applications(deps, me, org_id)
    ]
    return pages.recruiter_page(
        router,
        "email_templates.html",
        org_id=org_id,
        section="settings",
        me=me,
        designs=designs,
        written=written,
    )


def _address(org_id: str, target: Target) -> str:
    base = f"/app/{org_id}/settings/email-templates"
    return (
        f"{base}/stages/{target.application_id}/{target.stage_id}" if target.stage_id else f"{base}/rejected"
    )


def _editor(
    org_id: str, target: Target, me: Principal, status: int = HTTPStatus.OK, **context: Any
) -> Response[str]:
    deps = dependencies()
    view = email_templates.get_template(deps, me, org_id, target)
    stage: Stage | None = None
    application_name = ""
    if target.application_id is not None and target.stage_id is not None:
        design = applications.get_design(deps, me, org_id, target.application_id)
        application_name = design.application.name
        stage = next(s for s in design.stages if s.id == target.stage_id)
    context.setdefault("preview", None)
    context.setdefault("values", {"subject": view.subject, "body": view.body})
    return pages.recruiter_page(
        router,
        "email_template.html",
        org_id=org_id,
        section="settings",
        status=status,
        me=me,
        view=view,
        stage=stage,
        application_name=application_name,
        address=_address(org_id, target),
        placeholders=schemas.PLACEHOLDER_TABLE,
        **context,
    )


def _errors(error: PlutomiError) -> dict[str, str]:
    if isinstance(error, InvalidFields):
        return error.fields
    # The domain names the part it refused: "The body has ...", anything else is about the subject.
    return {"body" if error.message.startswith("The body") else "subject": error.message}


def _submitted(org_id: str, target: Target) -> Response[str]:
    me = pages.signed_in(router)
    form = pages.form(router)
    values = {"subject": form.get("subject"), "body": form.get("body")}
    try:
        text = pages.parse(schemas.PutTemplate, values)
        if form.get("action") == "preview":
            rendered = email_templates.preview(dependencies(), me, org_id, target, text.subject, text.body)
            return _editor(org_id, target, me, values=values, preview=rendered)
        email_templates.put_template(dependencies(), me, org_id, target, text.subject, text.body)
    except (InvalidInput, Forbidden) as error:
        return _editor(org_id, target, me, status_of(error), errors=_errors(error), values=values)
    return pages.redirect(f"{_address(org_id, target)}?saved=1", router=router)


def _reset(org_id: str, target: Target) -> Response[str]:
    me = pages.signed_in(router)
    try:
        email_templates.delete_template(dependencies(), me, org_id, target)
    except Forbidden as error:
        return _editor(org_id, target, me, status_of(error), notice=error.message)
    return pages.redirect(_address(org_id, target), router=router)


def _shown(org_id: str, target: Target) -> Response[str]:
    saved = "Saved." if pages.query(router, "saved") else ""
    return _editor(org_id, target, pages.signed_in(router), notice=saved)


@router.get(REJECTED)
def rejected(org_id: str) -> Response[str]:
    return _shown(org_id, Target.rejected())


@router.post(REJECTED)
def save_rejected(org_id: str) -> Response[str]:
    return _submitted(org_id, Target.rejected())


@router.post(f"{REJECTED}/reset")
def reset_rejected(org_id: str) -> Response[str]:
    return _reset(org_id, Target.rejected())


@router.get(STAGE)
def stage_template(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    return _shown(org_id, Target.stage_entered(application_id, stage_id))


@router.post(STAGE)
def save_stage_template(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    return _submitted(org_id, Target.stage_entered(application_id, stage_id))


@router.post(f"{STAGE}/reset")
def reset_stage_template(org_id: str, application_id: str, stage_id: str) -> Response[str]:
    return _reset(org_id, Target.stage_entered(application_id, stage_id))


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
