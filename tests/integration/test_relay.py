"""The outbox relay reads its next batch while it publishes the current one: each event is still
published once and in order, and an event whose publish was not acknowledged stays pending and is
published again (after the batch read ahead is dropped), never marked sent before.

In a database of its own, so no other relay (a running stack's) publishes these events first.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain import events
from plutomi.domain.events import Event
from plutomi.runtime.relay import OutboxRelay
from plutomi.services.ports import Dependencies
from tests.conftest import unique_org_id
from tests.support.contracts import published_envelopes, stream_position

if TYPE_CHECKING:
    from nats.js import JetStreamContext

EVENTS = 40
BATCH = 7


class RecordingRelay(OutboxRelay):
    """The real relay, recording which of one org's events it publishes, and reporting the publish
    of `unacknowledged` as failed the first time (as when its ack does not come in time)."""

    def __init__(self, deps: Dependencies, org_id: str, unacknowledged: str) -> None:
        super().__init__(deps.store, deps.settings.nats_url, batch_size=BATCH, idle_poll_seconds=0.05)
        self.org_id = org_id
        self.unacknowledged: str | None = unacknowledged
        self.published: list[str] = []
        self.pending_when_retried: bool | None = None

    async def _publish(self, jetstream: JetStreamContext, batch: list[Event]) -> list[str]:
        mine = [event.id for event in batch if event.org_id == self.org_id]
        if self.unacknowledged is None and self.pending_when_retried is None and self.published:
            retried = self.published[BATCH + 2]
            if retried in mine:
                self.pending_when_retried = "pending_since_ms" in (self.store.outbox.get(retried) or {})
        self.published += mine
        acked = await super()._publish(jetstream, batch)
        if self.unacknowledged in acked:
            acked.remove(self.unacknowledged)
            self.unacknowledged = None
        return acked


@pytest.fixture
def own(deps: Dependencies) -> Iterator[Dependencies]:
    database = f"plutomi_relay_{uuid.uuid4().hex[:8]}"
    store = MongoStore.connect(deps.settings.mongodb_url, database)
    try:
        store.create_indexes()
        yield replace(deps, store=store, settings=replace(deps.settings, mongodb_database=database))
    finally:
        store.client.drop_database(database)
        store.client.close()


def written_events(deps: Dependencies, org_id: str) -> list[Event]:
    """`EVENTS` events of one org in the outbox, a millisecond apart, so their order is unambiguous."""
    start = deps.clock.now() - timedelta(hours=1)
    written = []
    for n in range(EVENTS):
        event = deps.event(
            events.ORG_UPDATED, org_id, {"org_id": org_id, "display_name": f"R{n}", "by": "usr_x"}
        )
        event = event.model_copy(update={"occurred_at": start + timedelta(milliseconds=n)})
        deps.store.outbox.add(event)
        written.append(event)
    return written


def test_the_relay_publishes_each_event_once_in_order_while_reading_ahead(own: Dependencies) -> None:
    deps = own
    org_id = unique_org_id("relay-ahead")
    since = stream_position(deps)
    written = written_events(deps, org_id)
    ids = [event.id for event in written]
    unacknowledged = ids[BATCH + 2]  # in the second batch, with a batch read ahead behind it
    relay = RecordingRelay(deps, org_id, unacknowledged)

    def all_sent() -> bool:
        return all("pending_since_ms" not in (deps.store.outbox.get(event_id) or {}) for event_id in ids)

    async def relay_until_sent() -> None:
        running = asyncio.create_task(relay.run())
        deadline = time.monotonic() + 20
        while not all_sent():
            assert not running.done(), running.result()
            assert time.monotonic() < deadline, f"the relay is stuck: {relay.counters}"
            await asyncio.sleep(0.02)
        relay.stop()
        await running

    asyncio.run(relay_until_sent())

    assert relay.pending_when_retried is True, "an unacknowledged event was marked sent"
    # Once each, but the unacknowledged one again, after everything read with or ahead of it.
    assert sorted(relay.published) == sorted([*ids, unacknowledged])
    assert relay.published[: 2 * BATCH] == ids[: 2 * BATCH]
    assert relay.published[2 * BATCH] == unacknowledged
    assert relay.published[2 * BATCH + 1 :] == ids[2 * BATCH :]
    # The stream keeps the first publish of each id (the repeat is deduplicated): written order.
    assert [envelope["id"] for envelope in published_envelopes(deps, org_id, since)] == ids
