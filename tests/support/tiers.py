"""Run a throwaway business consumer through its real tiers (main, retry) for pipeline tests, with
fast back-offs; the running stack's meta consumer moves exhausted events between the tiers."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import nats
from nats.js.api import DeliverPolicy

from plutomi.adapters.jetstream import tier_config
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.runtime.bridge import Bridge
from plutomi.runtime.functions import LocalContext
from plutomi.topology import Consumer, Tier, tiers_of


def fast_consumer(event_type: str, prefix: str = "tiers") -> Consumer:
    return Consumer(
        f"{prefix}-{uuid.uuid4().hex[:8]}",
        "unused",
        (event_type,),
        backoff_seconds=(0.05, 0.05, 0.05),
        retry_backoff_seconds=(0.05, 0.05, 0.05),
    )


async def declare_tiers(nats_url: str, tiers: tuple[Tier, ...], remove: bool = False) -> None:
    connection = await nats.connect(nats_url)
    jetstream = connection.jetstream()
    try:
        for tier in tiers:
            if remove:
                await jetstream.delete_consumer(tier.stream, tier.durable)
                continue
            config = tier_config(tier)
            if tier.kind == "main":
                config.deliver_policy = DeliverPolicy.NEW  # only what this test publishes
            await jetstream.add_consumer(tier.stream, config)
    finally:
        await connection.close()


@contextmanager
def running_tiers(
    nats_url: str, consumer: Consumer, process: Callable[[Event], dict[str, Any]]
) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Declares the consumer's tiers, runs bridges for main and retry in a background loop, and yields
    the consumer's Lambda-style handler (for redriving)."""
    tiers = tiers_of(consumer)
    asyncio.run(declare_tiers(nats_url, tiers))
    handler = consumer_handler(consumer.name, process)

    def target(event: dict[str, Any]) -> dict[str, Any]:
        return handler(event, LocalContext(consumer.name))  # type: ignore[arg-type]

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    bridges = [Bridge(tier, nats_url, target=target, fetch_timeout=0.2) for tier in tiers[:2]]
    futures = [asyncio.run_coroutine_threadsafe(bridge.run(), loop) for bridge in bridges]
    try:
        yield target
    finally:
        for bridge in bridges:
            loop.call_soon_threadsafe(bridge.stop)
        for future in futures:
            future.result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        asyncio.run(declare_tiers(nats_url, tiers, remove=True))
