"""Request and response bodies of the webhooks API. Only the answer to create carries the secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from plutomi.domain.webhooks import MAX_URL_LENGTH, Delivery, Outcome, Webhook, shown_error
from plutomi.entrypoints.schemas import Body
from plutomi.entrypoints.text_fields import ShortDescription
from plutomi.services.webhooks import CreatedWebhook, DeliveryPage

WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
    Field(description="https://... on a public host; plain http only to localhost in development"),
]
EventTypeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
EventTypes = Annotated[
    list[EventTypeName],
    Field(min_length=1, max_length=50, description='event types such as "applicant.moved", or "*" for all'),
]
Description = ShortDescription


class CreateWebhook(Body):
    url: WebhookUrl
    event_types: EventTypes
    description: Description = ""
    enabled: bool = True


class UpdateWebhook(Body):
    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(
            id=webhook.id,
            url=webhook.url,
            event_types=webhook.event_types,
            description=webhook.description,
            enabled=webhook.enabled,
            created_at=webhook.created_at,
            updated_at=webhook.updated_at,
        )


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(description="The signing secret. Shown this once: store it now")

    @classmethod
    def of_created(cls, created: CreatedWebhook) -> CreatedWebhookOut:
        return cls(**WebhookOut.of(created.webhook).model_dump(), secret=created.secret)


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int
    status_code: int | None = Field(description="null when no response came (network error, timeout)")
    outcome: Outcome
    latency_ms: int
    error: str | None = Field(
        description='Why it failed: "HTTP 503 Service Unavailable", "HTTP 302: redirect not followed", '
        '"no response", "not sent: ..."; never the receiver\'s body or network details'
    )
    created_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            attempt=delivery.attempt,
            status_code=delivery.status_code,
            outcome=delivery.outcome,
            latency_ms=delivery.latency_ms,
            error=shown_error(delivery.status_code, delivery.error),
            created_at=delivery.created_at,
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for older attempts; null on the last page")

    @classmethod
    def of(cls, page: DeliveryPage) -> DeliveryList:
        return cls(deliveries=[DeliveryOut.of(d) for d in page.deliveries], next_cursor=page.next_cursor)
