"""Decision-email templates: the org's "rejected" email and each stage's entry email. Members read
and preview; admins and owners change them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import email_template_schemas as schemas
from plutomi.entrypoints.api import Router, create_resolver, lambda_handler, no_content, principal
from plutomi.services import email_templates
from plutomi.services.email_templates import Target

router = Router()
BASE = "/orgs/<org_id>/email-templates"
REJECTED = f"{BASE}/rejected"
STAGE = "/orgs/<org_id>/applications/<application_id>/stages/<stage_id>/email-template"


@router.get(BASE, summary="The organisation's email templates, and the placeholders they may use")
def list_templates(org_id: str) -> schemas.TemplateList:
    found = email_templates.list_templates(dependencies(), principal(router), org_id)
    return schemas.TemplateList(
        templates=[schemas.TemplateOut.of(view) for view in found], placeholders=schemas.PLACEHOLDER_TABLE
    )


@router.get(REJECTED, summary="The email a rejected applicant gets (the org's own, or the default)")
def get_rejected(org_id: str) -> schemas.TemplateOut:
    view = email_templates.get_template(dependencies(), principal(router), org_id, Target.rejected())
    return schemas.TemplateOut.of(view)


@router.put(REJECTED, summary="Write the org's own rejection email")
def put_rejected(org_id: str, body: schemas.PutTemplate) -> schemas.TemplateOut:
    view = email_templates.put_template(
        dependencies(), principal(router), org_id, Target.rejected(), body.subject, body.body
    )
    return schemas.TemplateOut.of(view)


@router.delete(REJECTED, status_code=HTTPStatus.NO_CONTENT, summary="Go back to the default rejection email")
def delete_rejected(org_id: str) -> Response[Any]:
    email_templates.delete_template(dependencies(), principal(router), org_id, Target.rejected())
    return no_content()


@router.post(f"{REJECTED}/preview", summary="Render the rejection email, saved or not, with sample values")
def preview_rejected(org_id: str, body: schemas.PreviewTemplate) -> schemas.PreviewOut:
    rendered = email_templates.preview(
        dependencies(),
        principal(router),
        org_id,
        Target.rejected(),
        body.subject,
        body.body,
        body.applicant_id,
    )
    return schemas.PreviewOut.of(rendered)


@router.get(STAGE, summary="The email an applicant gets on entering the stage")
def get_stage_template(org_id: str, application_id: str, stage_id: str) -> schemas.TemplateOut:
    target = Target.stage_entered(application_id, stage_id)
    return schemas.TemplateOut.of(
        email_templates.get_template(dependencies(), principal(router), org_id, target)
    )


@router.put(STAGE, summary="Write the stage's entry email: from now on entering the stage sends it")
def put_stage_template(
    org_id: str, application_id: str, stage_id: str, body: schemas.PutTemplate
) -> schemas.TemplateOut:
    target = Target.stage_entered(application_id, stage_id)
    view = email_templates.put_template(
        dependencies(), principal(router), org_id, target, body.subject, body.body
    )
    return schemas.TemplateOut.of(view)


@router.delete(STAGE, status_code=HTTPStatus.NO_CONTENT, summary="Stop the stage's entry email")
def delete_stage_template(org_id: str, application_id: str, stage_id: str) -> Response[Any]:
    target = Target.stage_entered(application_id, stage_id)
    email_templates.delete_template(dependencies(), principal(router), org_id, target)
    return no_content()


@router.post(f"{STAGE}/preview", summary="Render the stage's entry email, saved or not, with sample values")
def preview_stage_template(
    org_id: str, application_id: str, stage_id: str, body: schemas.PreviewTemplate
) -> schemas.PreviewOut:
    target = Target.stage_entered(application_id, stage_id)
    rendered = email_templates.preview(
        dependencies(), principal(router), org_id, target, body.subject, body.body, body.applicant_id
    )
    return schemas.PreviewOut.of(rendered)


app = create_resolver(router)
handler = lambda_handler(app)
