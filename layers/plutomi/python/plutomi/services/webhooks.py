"""Webhooks: an org's subscriptions to its own events, and delivering events to them.

Members see the org's webhooks and their delivery attempts; admins and owners create, change and
delete them. The signing secret is shown once, in the answer to create, and never again.

A URL must name a public host: an address in any spelling is checked as written, a name on every
address it resolves to (`deps.resolver`), so a webhook cannot be aimed at the internal network.

`deliver` is the `webhooks` consumer's use case. For an event of an org it POSTs the event to every
enabled webhook that wants it and records each attempt. When any attempt must be retried it raises
`WebhookDeliveryFailed` after trying them all: the consumer reports the record failed and the pipeline
delivers the event again later, when the webhooks already settled (delivered, or refused for good
with a 4xx, or not sent because the URL is not allowed) are skipped, so a receiver gets a settled
event once. The sender checks the host again at each delivery and connects to the address it checked.
An event's deliveries run side by side, each within the sender's deadline, so a receiver that hangs
delays nobody else's.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plutomi.domain import events
from plutomi.domain.errors import Conflict, InvalidInput, NotFound
from plutomi.domain.events import Event
from plutomi.domain.models import Role
from plutomi.domain.webhooks import (
    FAILED_PERMANENT,
    FAILED_WILL_RETRY,
    MAX_WEBHOOKS_PER_ORG,
    NOT_PUBLIC,
    NOT_SENT_INVALID_URL,
    NOT_SENT_NOT_PUBLIC,
    ORG_EVENT_TYPES,
    SECRET_PREFIX,
    Delivery,
    Outcome,
    SendResult,
    Webhook,
    check_resolved,
    classify,
    delivery_headers,
    parse_webhook_url,
    sign,
    validate_event_types,
    validate_webhook_url,
)
from plutomi.services.auth import Principal
from plutomi.services.orgs import is_current, require_membership
from plutomi.services.pagination import cursor_position, encode_cursor
from plutomi.services.parallel import side_by_side
from plutomi.services.ports import Dependencies, WebhookSender
from plutomi.services.unit_of_work import retrying, transactional

DELIVERIES_AT_ONCE = 4  # an event's deliveries to different webhooks, side by side


class WebhookDeliveryFailed(Exception):
    """Some deliveries of an event are to be retried; the consumer reports the record as failed."""


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str  # shown to the creator once


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    next_cursor: str | None


def load_webhook(deps: Dependencies, org_id: str, webhook_id: str) -> Webhook:
    webhook = deps.store.webhooks.get(org_id, webhook_id)
    if webhook is None:
        raise NotFound("webhook_not_found", f"No webhook {webhook_id!r} in this organisation")
    return webhook


def new_secret() -> str:
    return f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"


def check_webhook_url(deps: Dependencies, url: str) -> str:
    """The URL to store, once its host is known to be public: as written (an address in any spelling)
    and, for a name, on every address it resolves to now. Raises InvalidInput `invalid_webhook_url` or
    `webhook_url_not_public`. Call it after the cheap checks: it may wait for DNS."""
    allow_loopback = deps.settings.is_local
    target = parse_webhook_url(url, allow_loopback=allow_loopback)
    if target.address is None:
        check_resolved(target.host, deps.resolver.resolve(target.host, target.port), allow_loopback)
    return url.strip()


def create_webhook(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    enabled: bool = True,
) -> CreatedWebhook:
    require_membership(deps, principal, org_id, Role.ADMIN)
    validate_webhook_url(url, allow_loopback=deps.settings.is_local)
    wanted = validate_event_types(event_types)
    url = check_webhook_url(deps, url)  # resolves the name: before the transaction, not in it
    return _create_webhook(deps, principal, org_id, url, wanted, description, enabled)


@transactional
def _create_webhook(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    url: str,
    wanted: list[str],
    description: str,
    enabled: bool,
) -> CreatedWebhook:
    if deps.store.webhooks.count_for_org(org_id, up_to=MAX_WEBHOOKS_PER_ORG) >= MAX_WEBHOOKS_PER_ORG:
        raise Conflict(
            "too_many_webhooks", f"An organisation has at most {MAX_WEBHOOKS_PER_ORG} webhooks; delete one"
        )
    now = deps.clock.now()
    secret = new_secret()
    webhook = Webhook(
        id=deps.clock.new_id("whk"),
        org_id=org_id,
        url=url,
        event_types=wanted,
        description=description.strip(),
        secret=secret,
        enabled=enabled,
        created_by=principal.user.id,
        created_at=now,
        updated_at=now,
    )
    deps.store.webhooks.create(webhook)
    deps.emit(
        events.WEBHOOK_CREATED,
        org_id,
        {"webhook_id": webhook.id, "url": url, "event_types": wanted, "by": principal.user.id},
    )
    return CreatedWebhook(webhook=webhook, secret=secret)


def list_webhooks(deps: Dependencies, principal: Principal, org_id: str) -> list[Webhook]:
    require_membership(deps, principal, org_id)
    return deps.store.webhooks.list_for_org(org_id)


def get_webhook(deps: Dependencies, principal: Principal, org_id: str, webhook_id: str) -> Webhook:
    require_membership(deps, principal, org_id)
    return load_webhook(deps, org_id, webhook_id)


def update_webhook(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    webhook_id: str,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Webhook:
    require_membership(deps, principal, org_id, Role.ADMIN)
    load_webhook(deps, org_id, webhook_id)  # a missing webhook is a 404 before any other complaint
    changes: dict[str, Any] = {}
    if url is not None:
        validate_webhook_url(url, allow_loopback=deps.settings.is_local)
    if event_types is not None:
        changes["event_types"] = validate_event_types(event_types)
    if description is not None:
        changes["description"] = description.strip()
    if enabled is not None:
        changes["enabled"] = enabled
    if url is not None:
        changes["url"] = check_webhook_url(deps, url)

    def change() -> Webhook | None:
        before = load_webhook(deps, org_id, webhook_id)
        if not changes:
            return before
        return deps.store.webhooks.update(before, deps.clock.now(), **changes)

    return retrying(change)


@transactional
def delete_webhook(deps: Dependencies, principal: Principal, org_id: str, webhook_id: str) -> None:
    require_membership(deps, principal, org_id, Role.ADMIN)
    load_webhook(deps, org_id, webhook_id)
    if deps.store.webhooks.delete(org_id, webhook_id):
        deps.store.deliveries.delete_for_webhook(org_id, webhook_id)
        deps.emit(events.WEBHOOK_DELETED, org_id, {"webhook_id": webhook_id, "by": principal.user.id})


def list_deliveries(
    deps: Dependencies,
    principal: Principal,
    org_id: str,
    webhook_id: str,
    cursor: str | None,
    limit: int,
) -> DeliveryPage:
    require_membership(deps, principal, org_id)
    load_webhook(deps, org_id, webhook_id)
    before = cursor_position(cursor, "dlv_")
    found = deps.store.deliveries.list_for_webhook(org_id, webhook_id, limit + 1, before)
    more = len(found) > limit
    found = found[:limit]
    next_cursor = encode_cursor(found[-1].id) if more and found else None
    return DeliveryPage(deliveries=found, next_cursor=next_cursor)


# ---------------------------------------------------------------- delivery


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def deliver(deps: Dependencies, sender: WebhookSender, event: Event) -> dict[str, Any]:
    """Delivers one event to the org's webhooks that want it, up to `DELIVERIES_AT_ONCE` at once (a
    receiver that hangs holds up only its own delivery, which the sender bounds); raises
    `WebhookDeliveryFailed` when any delivery is to be retried (after trying every webhook). Returns
    counts per outcome."""
    counts: dict[str, int] = {"delivered": 0, "failed_permanent": 0, "already_settled": 0, "skipped": 0}
    if event.org_id is None or event.type not in ORG_EVENT_TYPES:
        return counts  # a person's events (login codes above all) never leave Plutomi
    if not is_current(deps, event):
        return {**counts, "org_gone": 1}  # its org is being deleted (or was, before the id was reused)
    body = event.model_dump_json().encode()

    def deliver_to(webhook: Webhook) -> tuple[str, str | None]:
        return _deliver_to(deps, sender, webhook, event, body)

    retrying: list[str] = []
    wanted = deps.store.webhooks.subscribed(event.org_id, event.type)
    for outcome, retry in side_by_side(deliver_to, wanted, DELIVERIES_AT_ONCE):
        if retry is not None:
            retrying.append(retry)
        else:
            counts[outcome] += 1
    if retrying:
        raise WebhookDeliveryFailed(
            f"event {event.id}: {len(retrying)} webhook delivery(ies) will be retried: {'; '.join(retrying)}"
        )
    return counts


def _deliver_to(
    deps: Dependencies, sender: WebhookSender, webhook: Webhook, event: Event, body: bytes
) -> tuple[str, str | None]:
    """One webhook's delivery of `event`: its count's name, and what to say when it is to be retried."""
    org_id = webhook.org_id
    if _aware(event.occurred_at) < _aware(webhook.created_at):
        return "skipped", None  # a webhook receives what happens after it was created
    if deps.store.deliveries.already_settled(org_id, webhook.id, event.id):
        return "already_settled", None
    attempt = deps.store.deliveries.last_attempt(org_id, webhook.id, event.id) + 1
    result, outcome = _attempt(deps, sender, webhook, event, body)
    now = deps.clock.now()
    deps.store.deliveries.record(
        Delivery(
            id=deps.clock.new_id("dlv"),
            org_id=org_id,
            webhook_id=webhook.id,
            event_id=event.id,
            event_type=event.type,
            attempt=attempt,
            status_code=result.status_code,
            outcome=outcome,
            latency_ms=result.latency_ms,
            error=result.error,
            created_at=now,
            updated_at=now,
        )
    )
    if outcome == FAILED_WILL_RETRY:
        return outcome, f"{webhook.id} (attempt {attempt}: {result.error or result.status_code})"
    return outcome, None


def _attempt(
    deps: Dependencies, sender: WebhookSender, webhook: Webhook, event: Event, body: bytes
) -> tuple[SendResult, Outcome]:
    try:
        # Checked again at delivery: a URL saved under other rules or settings (before hosts were
        # checked; plain http or loopback in development) is never called where it is not allowed.
        # The sender checks what the name resolves to now. A refusal is final and says nothing more.
        url = validate_webhook_url(webhook.url, allow_loopback=deps.settings.is_local)
    except InvalidInput as error:
        reason = NOT_SENT_NOT_PUBLIC if error.code == NOT_PUBLIC else NOT_SENT_INVALID_URL
        return SendResult(None, 0, reason, blocked=True), FAILED_PERMANENT
    timestamp = int(deps.clock.now().timestamp())
    headers = delivery_headers(event.id, event.type, sign(webhook.secret, timestamp, body))
    result = sender.post(url, body, headers)
    return result, FAILED_PERMANENT if result.blocked else classify(result.status_code)
