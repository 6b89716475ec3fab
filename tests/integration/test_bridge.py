"""The bridge: SQS-shaped batches from a durable JetStream consumer; acks what the handler did not
list in batchItemFailures and naks the rest, which JetStream redelivers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
from nats.js.api import DeliverPolicy

from plutomi.adapters.jetstream import consumer_config
from plutomi.runtime.bridge import Bridge
from plutomi.services.ports import Dependencies
from plutomi.topology import EVENTS_STREAM, Consumer, all_tiers, module_of
from tests.support.import_watch import first_imports
from tests.support.numbered import number_of, numbered


async def _with_consumer(
    nats_url: str, consumer: Consumer, scenario: Callable[[Any], Awaitable[None]]
) -> dict[str, int]:
    connection = await nats.connect(nats_url)
    jetstream = connection.jetstream()
    # Only what the test publishes after this point: other tests publish the same event types.
    config = consumer_config(consumer)
    config.deliver_policy = DeliverPolicy.NEW
    await jetstream.add_consumer(EVENTS_STREAM, config)
    try:
        await scenario(jetstream)
        info = await jetstream.consumer_info(EVENTS_STREAM, consumer.name)
        return {"ack_pending": info.num_ack_pending, "pending": info.num_pending}
    finally:
        await jetstream.delete_consumer(EVENTS_STREAM, consumer.name)
        await connection.close()


def test_failed_records_are_redelivered_and_succeeded_ones_acked(
    services: dict[str, str], deps: Dependencies
) -> None:
    org_id = f"bridge-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        f"test-bridge-{uuid.uuid4().hex[:8]}",
        "unused",
        ("org.updated",),
        batch_size=10,
        backoff_seconds=(0.1,),
    )
    events = [deps.event("org.updated", org_id, numbered(org_id, n)) for n in range(6)]
    calls: list[list[tuple[str, int]]] = []
    lock = threading.Lock()

    def handler(sqs_event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        seen = []
        for record in sqs_event["Records"]:
            body = json.loads(record["body"])
            attempt = int(record["attributes"]["ApproximateReceiveCount"])
            assert record["eventSource"] == "aws:sqs"
            seen.append((body["id"], attempt))
            if body["org_id"] == org_id and number_of(body["data"]) % 2 == 0 and attempt == 1:
                failures.append({"itemIdentifier": record["messageId"]})
        with lock:
            calls.append(seen)
        return {"batchItemFailures": failures}

    async def scenario(jetstream: Any) -> None:
        for event in events:
            await jetstream.publish(
                event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
            )
        bridge = Bridge(consumer, services["NATS_URL"], target=handler, fetch_timeout=0.2)
        task = asyncio.create_task(bridge.run())
        for _ in range(100):
            delivered = [item for batch in calls for item in batch]
            if len(delivered) >= 9:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # room for any wrong extra redelivery to show up
        bridge.stop()
        await task
        assert bridge.counters.processed == 6 and bridge.counters.failed == 3

    state = asyncio.run(_with_consumer(services["NATS_URL"], consumer, scenario))
    delivered = [item for batch in calls for item in batch]
    by_event: dict[str, list[int]] = {}
    for event_id, attempt in delivered:
        by_event.setdefault(event_id, []).append(attempt)
    assert by_event == {e.id: ([1, 2] if number_of(e.data) % 2 == 0 else [1]) for e in events}
    assert state == {"ack_pending": 0, "pending": 0}


def test_a_crashing_handler_gets_the_whole_batch_again(services: dict[str, str], deps: Dependencies) -> None:
    consumer = Consumer(
        f"test-crash-{uuid.uuid4().hex[:8]}", "unused", ("org.deleted",), backoff_seconds=(0.1,)
    )
    org_id = f"crash-{uuid.uuid4().hex[:8]}"
    event = deps.event("org.deleted", org_id, {"org_id": org_id, "by": "usr_test"})
    attempts: list[int] = []

    def handler(sqs_event: dict[str, Any]) -> dict[str, Any]:
        attempts.extend(int(r["attributes"]["ApproximateReceiveCount"]) for r in sqs_event["Records"])
        if len(attempts) == 1:
            raise RuntimeError("boom")
        return {"batchItemFailures": []}

    async def scenario(jetstream: Any) -> None:
        await jetstream.publish(
            event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
        )
        bridge = Bridge(consumer, services["NATS_URL"], target=handler, fetch_timeout=0.2)
        task = asyncio.create_task(bridge.run())
        for _ in range(100):
            if len(attempts) >= 2:
                break
            await asyncio.sleep(0.1)
        bridge.stop()
        await task

    state = asyncio.run(_with_consumer(services["NATS_URL"], consumer, scenario))
    assert attempts == [1, 2]
    assert state == {"ack_pending": 0, "pending": 0}


FIRST_BATCHES = """
import json, sys, threading
from pathlib import Path
from tests.support.import_watch import watch
watch(Path(sys.argv[1]))
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.bridge import Bridge
from plutomi.topology import all_tiers
bridges = [Bridge(tier, "nats://127.0.0.1:1") for tier in all_tiers() if tier.function]
start = threading.Barrier(len(bridges))
answers = []
def first_batch(bridge):
    start.wait()
    try:
        answers.append(bridge.target(sqs_event([sqs_record("{}", message_id="m-1")])))
    except BaseException as error:
        answers.append(f"{bridge.name}: {error!r}")
threads = [threading.Thread(target=first_batch, args=(bridge,)) for bridge in bridges]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(answers))
"""


def test_a_bridge_imports_its_handler_before_its_first_batch(tmp_path: Path) -> None:
    """Every bridge's first batch at once, from threads, in a fresh process (as `plutomi dev` runs
    them): each handler answers (a record that is not an event fails on its own), and each handler
    module was imported by its bridge in the main thread, never by a thread handling a batch."""
    report = tmp_path / "imports.jsonl"
    ran = subprocess.run(
        [sys.executable, "-c", FIRST_BATCHES, str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    answers = json.loads(ran.stdout.splitlines()[-1])
    handled = [tier.function for tier in all_tiers() if tier.function]
    assert answers == [{"batchItemFailures": [{"itemIdentifier": "m-1"}]}] * len(handled)
    imported = first_imports(report)
    assert {module_of(f) for f in handled} <= set(imported)
    assert {name for name, in_main in imported.items() if not in_main} == set()


def test_concurrency_above_the_default_thread_pool_runs_that_many_batches_at_once(
    services: dict[str, str], deps: Dependencies
) -> None:
    """`--concurrency N` means N batches in the handler at once, also above asyncio's default pool
    (cpu+4 threads): the handler blocks until N calls are in it together."""
    concurrency = min(32, (os.cpu_count() or 1) + 4) + 2
    consumer = Consumer(
        f"test-wide-{uuid.uuid4().hex[:8]}", "unused", ("org.updated",), batch_size=1, backoff_seconds=(0.1,)
    )
    org_id = f"wide-{uuid.uuid4().hex[:8]}"
    # Two per worker: each worker holds one batch in the handler and the next fetched ahead.
    events = [deps.event("org.updated", org_id, numbered(org_id, n)) for n in range(2 * concurrency)]
    together = threading.Barrier(concurrency, timeout=15)
    lock = threading.Lock()
    inside, most_inside = 0, 0
    handled: list[str] = []

    def handler(sqs_event: dict[str, Any]) -> dict[str, Any]:
        nonlocal inside, most_inside
        with lock:
            inside += 1
            most_inside = max(most_inside, inside)
        try:
            together.wait()
        finally:
            with lock:
                inside -= 1
        handled.extend(json.loads(record["body"])["id"] for record in sqs_event["Records"])
        return {"batchItemFailures": []}

    async def scenario(jetstream: Any) -> None:
        for event in events:
            await jetstream.publish(
                event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
            )
        bridge = Bridge(consumer, services["NATS_URL"], target=handler, concurrency=concurrency)
        task = asyncio.create_task(bridge.run())
        for _ in range(300):
            if len(handled) >= len(events) or together.broken:
                break
            await asyncio.sleep(0.1)
        bridge.stop()
        together.abort()  # lets any call still waiting go
        await task

    asyncio.run(_with_consumer(services["NATS_URL"], consumer, scenario))
    assert most_inside == concurrency
    assert sorted(handled) == sorted(event.id for event in events)
