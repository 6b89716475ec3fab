"""An organisation's webhooks: list, create (the signing secret is shown once, in the answer to the
create), change, delete, and each webhook's delivery log."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import Conflict, Forbidden, InvalidFields, InvalidInput, PlutomiError
from plutomi.domain.webhooks import ALL_ORG_EVENTS, ORG_EVENT_TYPES, Webhook
from plutomi.entrypoints import webhook_schemas as schemas
from plutomi.services import webhooks
from plutomi.services.auth import Principal
from plutomi.web import pages
from plutomi.web.refusal import status_of

router = pages.Router()
WEBHOOKS = "/app/<org_id>/settings/webhooks"
WEBHOOK = f"{WEBHOOKS}/<webhook_id>"
EVENT_TYPES = [(ALL_ORG_EVENTS, "Every event")] + [(name, name) for name in sorted(ORG_EVENT_TYPES)]
DELIVERIES_PER_PAGE = 25
# Which field a refusal of the webhook service belongs next to, by its code.
FIELD_OF_CODE = {"invalid_event_type": "event_types", "too_many_webhooks": "url"}


def _fields(form: pages.Form) -> dict[str, Any]:
    return {
        "url": form.get("url").strip(),
        "event_types": form.all("event_types"),
        "description": form.get("description"),
        "enabled": form.get("enabled") == "true",
    }


def _errors(error: PlutomiError) -> dict[str, str]:
    if isinstance(error, InvalidFields):
        return {name.split(".")[0]: message for name, message in error.fields.items()}
    return {FIELD_OF_CODE.get(error.code, "url"): error.message}


def _list(
    org_id: str, status: int = HTTPStatus.OK, me: Principal | None = None, **context: Any
) -> Response[str]:
    me = me or pages.signed_in(router)
    context.setdefault("chosen", [ALL_ORG_EVENTS])
    return pages.recruiter_page(
        router,
        "webhooks.html",
        org_id=org_id,
        section="settings",
        status=status,
        me=me,
        webhooks=webhooks.list_webhooks(dependencies(), me, org_id),
        event_types=EVENT_TYPES,
        **context,
    )


def _detail(
    org_id: str, webhook: Webhook, me: Principal, status: int = HTTPStatus.OK, **context: Any
) -> Response[str]:
    page = webhooks.list_deliveries(
        dependencies(), me, org_id, webhook.id, pages.query(router, "cursor") or None, DELIVERIES_PER_PAGE
    )
    context.setdefault("chosen", webhook.event_types)
    context.setdefault("secret", None)
    return pages.recruiter_page(
        router,
        "webhook.html",
        org_id=org_id,
        section="settings",
        status=status,
        me=me,
        webhook=webhook,
        deliveries=[schemas.DeliveryOut.of(delivery) for delivery in page.deliveries],
        next_cursor=page.next_cursor,
        event_types=EVENT_TYPES,
        **context,
    )


@router.get(WEBHOOKS)
def list_webhooks(org_id: str) -> Response[str]:
    return _list(org_id)


@router.post(WEBHOOKS)
def create_webhook(org_id: str) -> Response[str]:
    me = pages.signed_in(router)
    form = pages.form(router)
    try:
        body = pages.parse(schemas.CreateWebhook, _fields(form))
        created = webhooks.create_webhook(
            dependencies(), me, org_id, body.url, body.event_types, body.description, body.enabled
        )
    except (InvalidInput, Forbidden, Conflict) as error:
        return _list(
            org_id,
            status_of(error),
            me,
            errors=_errors(error),
            values=form.first_values(),
            chosen=form.all("event_types"),
        )
    # The secret is in this answer only; settings.js then puts the webhook's own address in the
    # location bar, so a reload asks for that page (without the secret) instead of sending the form again.
    return _detail(org_id, created.webhook, me, HTTPStatus.CREATED, secret=created.secret)


@router.get(WEBHOOK)
def webhook_page(org_id: str, webhook_id: str) -> Response[str]:
    me = pages.signed_in(router)
    return _detail(org_id, webhooks.get_webhook(dependencies(), me, org_id, webhook_id), me)


@router.post(WEBHOOK)
def update_webhook(org_id: str, webhook_id: str) -> Response[str]:
    me = pages.signed_in(router)
    form = pages.form(router)
    try:
        body = pages.parse(schemas.UpdateWebhook, _fields(form))
        webhooks.update_webhook(
            dependencies(),
            me,
            org_id,
            webhook_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            enabled=body.enabled,
        )
    except (InvalidInput, Forbidden, Conflict) as error:
        current = webhooks.get_webhook(dependencies(), me, org_id, webhook_id)
        return _detail(
            org_id,
            current,
            me,
            status_of(error),
            errors=_errors(error),
            values=form.first_values(),
            chosen=form.all("event_types"),
        )
    return pages.redirect(f"/app/{org_id}/settings/webhooks/{webhook_id}", router=router)


@router.post(f"{WEBHOOK}/delete")
def delete_webhook(org_id: str, webhook_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        webhooks.delete_webhook(dependencies(), me, org_id, webhook_id)
    except Forbidden as error:
        return _list(org_id, status_of(error), me, notice=error.message)
    return pages.redirect(f"/app/{org_id}/settings/webhooks", router=router)


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
