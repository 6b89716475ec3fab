"""Store repositories for webhooks and their delivery attempts.

A webhook changes by whole-document replace under its `version` (not `$set`: nx-27017 would store the
new `updated_at` as a string and an `enabled` flag as 0/1). A delivery attempt is written once and
never changed. An attempt that settles the event for its webhook (delivered, or refused for good)
carries the unique key `webhook-settled:<webhook>:<event>`, so "was this already settled?" is one
indexed lookup, and two racing deliveries cannot both record success. An attempt's number is the
last recorded one plus one: nothing on the delivery path counts documents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plutomi.adapters.mongo_base import Repository, to_document, where
from plutomi.domain.errors import DuplicateItem
from plutomi.domain.webhooks import FINAL_OUTCOMES, Delivery, Webhook, wants


class Webhooks(Repository):
    def create(self, webhook: Webhook) -> None:
        self._insert(webhook)

    def get(self, org_id: str, webhook_id: str) -> Webhook | None:
        return self._find_one(Webhook, where(_id=webhook_id, type=Webhook.TYPE, org_id=org_id))

    def list_for_org(self, org_id: str) -> list[Webhook]:
        return list(self._find(Webhook, where(type=Webhook.TYPE, org_id=org_id), [("created_at", 1)]))

    def count_for_org(self, org_id: str, up_to: int) -> int:
        """The org's webhooks, counted no further than `up_to` (enough to check a limit)."""
        return self._count_up_to(where(type=Webhook.TYPE, org_id=org_id), up_to)

    def subscribed(self, org_id: str, event_type: str) -> list[Webhook]:
        """The org's enabled webhooks that want this event type, oldest first. An org has few webhooks
        (see MAX_WEBHOOKS_PER_ORG), so the type filter runs here rather than on an array field."""
        return [webhook for webhook in self.list_for_org(org_id) if wants(webhook, event_type)]

    def update(self, before: Webhook, now: datetime, **changes: Any) -> Webhook | None:
        """Applies `changes` if nobody changed the webhook since `before` was read; None otherwise."""
        saved = Webhook.model_validate(
            {**before.model_dump(), **changes, "version": before.version + 1, "updated_at": now}
        )
        result = self._items.replace_one(
            where(_id=before.id, type=Webhook.TYPE, org_id=before.org_id, version=before.version),
            to_document(saved),
        )
        return saved if result.matched_count == 1 else None

    def delete(self, org_id: str, webhook_id: str) -> bool:
        result = self._items.delete_one(where(_id=webhook_id, type=Webhook.TYPE, org_id=org_id))
        return result.deleted_count == 1


class Deliveries(Repository):
    @staticmethod
    def settled_key(webhook_id: str, event_id: str) -> str:
        return f"webhook-settled:{webhook_id}:{event_id}"

    def record(self, delivery: Delivery) -> bool:
        """Stores an attempt. False when it would settle an event that another attempt already settled
        (a concurrent redelivery); that attempt is then not stored twice."""
        extra: dict[str, Any] = {"sort_key": delivery.id}
        if delivery.outcome in FINAL_OUTCOMES:
            extra["unique_key"] = self.settled_key(delivery.webhook_id, delivery.event_id)
        try:
            self._insert(delivery, **extra)
        except DuplicateItem:
            return False
        return True

    def already_settled(self, org_id: str, webhook_id: str, event_id: str) -> bool:
        """Whether this event was delivered to this webhook, or refused by it for good."""
        found = self._items.find_one(where(unique_key=self.settled_key(webhook_id, event_id), org_id=org_id))
        return found is not None

    def last_attempt(self, org_id: str, webhook_id: str, event_id: str) -> int:
        """The highest attempt number recorded for delivering this event to this webhook; 0 before the
        first. Each attempt is numbered one past the last, so this is also how many were recorded,
        read from one document: the attempts of one event to one webhook are few, and their index
        (`type_org_event_webhook`) finds them without counting the collection."""
        query = where(type=Delivery.TYPE, org_id=org_id, event_id=event_id, webhook_id=webhook_id)
        last = next(iter(self._items.find(query, {"attempt": 1}).sort([("attempt", -1)]).limit(1)), None)
        return int(last["attempt"]) if last is not None else 0

    def list_for_webhook(
        self, org_id: str, webhook_id: str, limit: int, before: str | None = None
    ) -> list[Delivery]:
        """A webhook's attempts, newest first, older than the `before` delivery id when given."""
        query = where(type=Delivery.TYPE, org_id=org_id, webhook_id=webhook_id)
        if before is not None:
            query["sort_key"] = {"$lt": before}
        cursor = self._items.find(query).sort([("sort_key", -1)]).limit(limit)
        return [Delivery.model_validate(document) for document in cursor]

    def for_event(self, org_id: str, event_id: str, limit: int = 500) -> list[Delivery]:
        """The attempts at delivering one event, to any of the org's webhooks, oldest first."""
        cursor = self._items.find(where(type=Delivery.TYPE, org_id=org_id, event_id=event_id)).limit(limit)
        return sorted((Delivery.model_validate(document) for document in cursor), key=lambda d: d.id)

    def delete_for_webhook(self, org_id: str, webhook_id: str) -> None:
        self._items.delete_many(where(type=Delivery.TYPE, org_id=org_id, webhook_id=webhook_id))
