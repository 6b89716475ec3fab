"""The transactional outbox: events written by a use case next to (and, on MongoDB, in the same
transaction as) the change they describe. The relay publishes them to JetStream and marks them sent.

A pending event carries `pending_since_ms`, indexed sparse, so finding the next batch costs what is
pending, not what was ever sent. A number, not a date: nx-27017 reads the whole collection for any
filter that compares dates. Sent events stay for `SENT_RETENTION` for inspection.

An org's event also carries the org's id at the top level, so purging a deleted org removes its sent
events with the rest of its data (`mongo_purge`); pending ones are never purged.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from plutomi.adapters.mongo_base import Document, Repository, where
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.events import Event

OUTBOX_TYPE = "outbox_event"
SENT_RETENTION = timedelta(days=7)
PENDING: Document = {"pending_since_ms": {"$gte": 0}}  # served by the sparse `outbox_pending` index

# Set when a use case in this process wrote an event, so an in-process relay publishes at once
# instead of at its next poll.
outbox_wakeup = threading.Event()


class Outbox(Repository):
    def add(self, event: Event) -> None:
        document: Document = {
            "_id": event.id,
            "type": OUTBOX_TYPE,
            "event": event.model_dump(mode="json"),
            "pending_since_ms": epoch_ms(event.occurred_at),
            "created_at": event.occurred_at,
            "updated_at": event.occurred_at,
        }
        if event.org_id is not None:
            document["org_id"] = event.org_id
        self._items.insert_one(document)
        outbox_wakeup.set()

    def pending(self, limit: int, excluding: Sequence[str] = ()) -> list[Event]:
        """The oldest unsent events first, leaving out the ids in `excluding` (events a relay is
        still publishing, so it can read its next batch before marking the current one sent)."""
        query = {**PENDING, "_id": {"$nin": list(excluding)}} if excluding else PENDING
        cursor = self._items.find(query).sort([("pending_since_ms", 1)]).limit(limit)
        return [Event.model_validate(document["event"]) for document in cursor]

    def mark_sent(self, event_ids: list[str], now: datetime) -> None:
        if not event_ids:
            return
        self._items.update_many(
            {"_id": {"$in": event_ids}, "type": {"$eq": OUTBOX_TYPE}},
            {"$unset": {"pending_since_ms": ""}, "$set": {"sent_at": now.isoformat()}},
        )

    def any_pending(self) -> bool:
        """Whether any event waits for the relay (one indexed document at most, never a count)."""
        return self._count_up_to(PENDING, 1) > 0

    def get(self, event_id: str) -> Document | None:
        document: dict[str, Any] | None = self._items.find_one(where(_id=event_id, type=OUTBOX_TYPE))
        return document
