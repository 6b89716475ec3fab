"""Webhooks: an org's signed event deliveries. Members read; admins and owners change them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import webhook_schemas as schemas
from plutomi.entrypoints.api import (
    Router,
    create_resolver,
    json_response,
    lambda_handler,
    no_content,
    principal,
)
from plutomi.services import webhooks

router = Router()
BASE = "/orgs/<org_id>/webhooks"


@router.post(BASE, status_code=HTTPStatus.CREATED, summary="Create a webhook; its secret is shown this once")
def create_webhook(org_id: str, body: schemas.CreateWebhook) -> Response[schemas.CreatedWebhookOut]:
    created = webhooks.create_webhook(
        dependencies(),
        principal(router),
        org_id,
        body.url,
        body.event_types,
        body.description,
        body.enabled,
    )
    return json_response(HTTPStatus.CREATED, schemas.CreatedWebhookOut.of_created(created))


@router.get(BASE, summary="The organisation's webhooks")
def list_webhooks(org_id: str) -> schemas.WebhookList:
    found = webhooks.list_webhooks(dependencies(), principal(router), org_id)
    return schemas.WebhookList(webhooks=[schemas.WebhookOut.of(w) for w in found])


@router.get(f"{BASE}/<webhook_id>", summary="A webhook (without its secret)")
def get_webhook(org_id: str, webhook_id: str) -> schemas.WebhookOut:
    return schemas.WebhookOut.of(webhooks.get_webhook(dependencies(), principal(router), org_id, webhook_id))


@router.patch(f"{BASE}/<webhook_id>", summary="Change a webhook's URL, event types, description or state")
def update_webhook(org_id: str, webhook_id: str, body: schemas.UpdateWebhook) -> schemas.WebhookOut:
    updated = webhooks.update_webhook(
        dependencies(),
        principal(router),
        org_id,
        webhook_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
    )
    return schemas.WebhookOut.of(updated)


@router.delete(f"{BASE}/<webhook_id>", status_code=HTTPStatus.NO_CONTENT, summary="Delete a webhook")
def delete_webhook(org_id: str, webhook_id: str) -> Response[Any]:
    webhooks.delete_webhook(dependencies(), principal(router), org_id, webhook_id)
    return no_content()


@router.get(f"{BASE}/<webhook_id>/deliveries", summary="A webhook's delivery attempts, newest first")
def list_deliveries(
    org_id: str,
    webhook_id: str,
    cursor: Annotated[str | None, Query(description="next_cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> schemas.DeliveryList:
    page = webhooks.list_deliveries(dependencies(), principal(router), org_id, webhook_id, cursor, limit)
    return schemas.DeliveryList.of(page)


app = create_resolver(router)
handler = lambda_handler(app)
