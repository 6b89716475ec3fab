"""Test-side JetStream plumbing: a consumer that sees only what a test publishes from now on, and
events published straight onto `events` (as the relay would, with `Nats-Msg-Id` = the event's id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from plutomi.adapters.jetstream import consumer_config
from plutomi.domain.events import Event
from plutomi.topology import EVENTS_STREAM, Consumer


async def connect_with_new_consumer(url: str, consumer: Consumer) -> tuple[NatsClient, JetStreamContext]:
    """A NATS connection, and `consumer`'s main tier on `events` from now on (nothing older: other
    tests publish the same event types)."""
    connection = await nats.connect(url)
    jetstream = connection.jetstream()
    config = consumer_config(consumer)
    config.deliver_policy = DeliverPolicy.NEW
    await jetstream.add_consumer(EVENTS_STREAM, config)
    return connection, jetstream


async def publish_events(jetstream: JetStreamContext, events: Iterable[Event]) -> None:
    for event in events:
        await jetstream.publish(
            event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
        )


async def with_new_consumer(
    nats_url: str, consumer: Consumer, scenario: Callable[[JetStreamContext], Awaitable[None]]
) -> dict[str, int]:
    """Runs `scenario` with `consumer` new on `events`, and returns what the consumer still holds
    afterwards; the consumer is deleted whatever happens."""
    connection, jetstream = await connect_with_new_consumer(nats_url, consumer)
    try:
        await scenario(jetstream)
        info = await jetstream.consumer_info(EVENTS_STREAM, consumer.name)
        return {"ack_pending": info.num_ack_pending, "pending": info.num_pending}
    finally:
        await jetstream.delete_consumer(EVENTS_STREAM, consumer.name)
        await connection.close()
