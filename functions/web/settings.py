"""An organisation's settings: the index (its name, deleting it), rejection reasons and the
platform's email sending health. Webhooks and email templates have their own modules."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.email_feedback import BOUNCE_KINDS, FeedbackKind
from plutomi.domain.errors import Conflict, Forbidden, InvalidFields, InvalidInput, PlutomiError
from plutomi.entrypoints import pipeline_schemas, schemas
from plutomi.services import email_feedback, orgs, rejection_reasons
from plutomi.services.auth import Principal
from plutomi.web import pages
from plutomi.web.refusal import status_of

router = pages.Router()
SETTINGS = "/app/<org_id>/settings"
REASONS = f"{SETTINGS}/rejection-reasons"


def _index(org_id: str, status: int = HTTPStatus.OK, **context: Any) -> Response[str]:
    return pages.recruiter_page(
        router, "settings.html", org_id=org_id, section="settings", status=status, **context
    )


@router.get(SETTINGS)
def index(org_id: str) -> Response[str]:
    return _index(org_id)


@router.post(SETTINGS)
def rename(org_id: str) -> Response[str]:
    form = pages.form(router)
    try:
        body = pages.parse(schemas.UpdateOrg, {"display_name": form.get("display_name")})
        orgs.update_org(dependencies(), pages.signed_in(router), org_id, body.display_name)
    except InvalidFields as error:
        return _index(org_id, status_of(error), errors=error.fields, values=form.first_values())
    except Forbidden as error:
        return _index(org_id, status_of(error), errors={"display_name": error.message})
    return pages.redirect(f"/app/{org_id}/settings", router=router)


@router.post(f"{SETTINGS}/delete")
def delete(org_id: str) -> Response[str]:
    me = pages.signed_in(router)
    typed = pages.form(router).get("confirm").strip()
    if typed != org_id:
        message = f"Type the organisation's address, {org_id}, to delete it"
        return _index(org_id, HTTPStatus.UNPROCESSABLE_ENTITY, me=me, errors={"confirm": message})
    try:
        orgs.delete_org(dependencies(), me, org_id)
    except (Forbidden, Conflict) as error:
        return _index(org_id, status_of(error), me=me, errors={"confirm": error.message})
    return pages.redirect(pages.HOME, router=router)


# ---------------------------------------------------------------- rejection reasons


def _reasons(
    org_id: str, status: int = HTTPStatus.OK, me: Principal | None = None, **context: Any
) -> Response[str]:
    me = me or pages.signed_in(router)
    return pages.recruiter_page(
        router,
        "rejection_reasons.html",
        org_id=org_id,
        section="settings",
        status=status,
        me=me,
        reasons=rejection_reasons.list_reasons(dependencies(), me, org_id),
        **context,
    )


def _refused_reason(org_id: str, error: PlutomiError, form: pages.Form, row: str = "") -> Response[str]:
    errors = error.fields if isinstance(error, InvalidFields) else {"label": error.message}
    return _reasons(org_id, status_of(error), errors=errors, values=form.first_values(), row=row)


@router.get(REASONS)
def reasons(org_id: str) -> Response[str]:
    return _reasons(org_id, row="")


@router.post(REASONS)
def add_reason(org_id: str) -> Response[str]:
    form = pages.form(router)
    try:
        body = pages.parse(pipeline_schemas.ReasonLabel, {"label": form.get("label")})
        rejection_reasons.create_reason(dependencies(), pages.signed_in(router), org_id, body.label)
    except (InvalidInput, Forbidden, Conflict) as error:
        return _refused_reason(org_id, error, form)
    return pages.redirect(f"/app/{org_id}/settings/rejection-reasons", router=router)


@router.post(f"{REASONS}/<reason_id>")
def rename_reason(org_id: str, reason_id: str) -> Response[str]:
    form = pages.form(router)
    try:
        body = pages.parse(pipeline_schemas.ReasonLabel, {"label": form.get("label")})
        rejection_reasons.update_reason(
            dependencies(), pages.signed_in(router), org_id, reason_id, body.label
        )
    except (InvalidInput, Forbidden, Conflict) as error:
        return _refused_reason(org_id, error, form, row=reason_id)
    return pages.redirect(f"/app/{org_id}/settings/rejection-reasons", router=router)


@router.post(f"{REASONS}/<reason_id>/delete")
def delete_reason(org_id: str, reason_id: str) -> Response[str]:
    try:
        rejection_reasons.delete_reason(dependencies(), pages.signed_in(router), org_id, reason_id)
    except Forbidden as error:
        return _reasons(org_id, status_of(error), row="", notice=error.message)
    return pages.redirect(f"/app/{org_id}/settings/rejection-reasons", router=router)


# ---------------------------------------------------------------- email health


@router.get(f"{SETTINGS}/email-health")
def email_health(org_id: str) -> Response[str]:
    me = pages.signed_in(router)
    health = email_feedback.platform_sending_health(dependencies(), me, org_id)
    counts = health.counts
    return pages.recruiter_page(
        router,
        "email_health.html",
        org_id=org_id,
        section="settings",
        me=me,
        health=health,
        days=email_feedback.STATS_DAYS,
        delivered=counts.get(FeedbackKind.DELIVERY, 0),
        bounced=sum(counts.get(kind, 0) for kind in BOUNCE_KINDS),
        permanent=counts.get(FeedbackKind.PERMANENT_BOUNCE, 0),
        complaints=counts.get(FeedbackKind.COMPLAINT, 0),
    )


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
