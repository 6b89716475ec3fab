"""A consumer that fails on purpose, for the pipeline fault test. Run as its own process so the test
can kill it with SIGKILL:  python -m tests.support.fault_consumer --tier main|retry

Configuration comes from the environment the test sets: FAULT_CONSUMER (name), FAULT_ORG (the org
whose events it works on), FAULT_RANDOM_RATE (share of attempts that fail at random), FAULT_ALWAYS
(comma-separated `n` values that always fail), FAULT_EFFECT_SECONDS (how long each attempt works
while holding its event's in-progress idempotency claim, so a kill can cut claims off).

The side effect is idempotent by event id (insert-if-absent), as a real one must be; every execution
that reaches it is also counted, so the test can tell absorbed duplicates from lost events. While an
attempt works it says so in a `fault_holding:<tier>` document (event id and until when, epoch ms), so
the test kills a tier's bridge only while that bridge holds a claim.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import time
from typing import Any

from pymongo.errors import DuplicateKeyError

from plutomi.adapters.mongo_base import where
from plutomi.bootstrap import dependencies
from plutomi.config import get_settings
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.runtime.bridge import Bridge
from plutomi.runtime.functions import LocalContext
from plutomi.topology import Consumer, tiers_of
from tests.support.numbered import number_of

EFFECT_TYPE = "fault_effect"
RUNS_TYPE = "fault_runs"
HOLDING_TYPE = "fault_holding"

# The tier this process serves ("main" or "retry"); a test calling the handler itself says "redrive".
serving_tier = "redrive"


def fault_consumer(name: str) -> Consumer:
    return Consumer(
        name,
        "unused",
        ("org.updated",),
        batch_size=50,
        # Six deliveries per tier, not three: a SIGKILL uses up a delivery of every message the
        # bridge holds (up to two batches per worker), so with five kills an early event could run
        # out of deliveries and reach the DLQ after a single real failure (seen: 1 run in ~10).
        max_deliveries=6,
        backoff_seconds=(0.2, 0.5, 1.0),
        retry_max_deliveries=6,
        retry_backoff_seconds=(0.5, 1.0, 2.0),
        ack_wait_seconds=4.0,
    )


def holding_id(tier: str) -> str:
    return f"{HOLDING_TYPE}:{tier}"


def process(event: Event) -> dict[str, Any]:
    if event.org_id != os.environ["FAULT_ORG"]:
        return {"ignored": True}
    number = number_of(event.data)
    items = dependencies().store.items
    effect_seconds = float(os.environ.get("FAULT_EFFECT_SECONDS", "0"))
    if effect_seconds > 0:
        # Powertools runs this only under the event's in-progress claim: say so, then hold it a while.
        until_ms = int((time.time() + effect_seconds) * 1000)
        # (`update_one`: nx-27017's `replace_one` upsert ignores an `$eq` on `_id` and mints an id.)
        items.update_one(
            where(_id=holding_id(serving_tier)),
            {"$set": {"type": HOLDING_TYPE, "event_id": event.id, "n": number, "until_ms": until_ms}},
            upsert=True,
        )
        time.sleep(effect_seconds)
    always = {int(v) for v in os.environ.get("FAULT_ALWAYS", "").split(",") if v}
    if number in always:
        raise RuntimeError(f"event {number} always fails")
    if random.random() < float(os.environ.get("FAULT_RANDOM_RATE", "0")):
        raise ConnectionError(f"random failure on event {number}")
    items.update_one(
        where(_id=f"runs:{event.id}"), {"$inc": {"runs": 1}, "$set": {"type": RUNS_TYPE}}, upsert=True
    )
    try:
        items.insert_one({"_id": f"effect:{event.id}", "type": EFFECT_TYPE, "n": number})
    except DuplicateKeyError:
        return {"applied": False}
    return {"applied": True}


def main() -> None:
    global serving_tier
    parser = argparse.ArgumentParser()
    parser.add_argument("--tier", choices=["main", "retry"], required=True)
    args = parser.parse_args()
    serving_tier = args.tier
    consumer = fault_consumer(os.environ["FAULT_CONSUMER"])
    tier = tiers_of(consumer)[0 if args.tier == "main" else 1]
    handler = consumer_handler(consumer.name, process)

    def target(event: dict[str, Any]) -> dict[str, Any]:
        return handler(event, LocalContext(consumer.name, timeout_seconds=consumer.ack_wait_seconds))  # type: ignore[arg-type]

    bridge = Bridge(tier, get_settings().nats_url, target=target, concurrency=2, fetch_timeout=0.5)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, bridge.stop)
        await bridge.run()

    asyncio.run(run())


if __name__ == "__main__":
    main()
