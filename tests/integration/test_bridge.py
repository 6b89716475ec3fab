"""The bridge: SQS-shaped batches from a durable JetStream consumer; acks what the handler did not
list in batchItemFailures and naks the rest, which JetStream redelivers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from plutomi.observability import runtime_logger
from plutomi.runtime.bridge import Bridge, Prepared, _delivery_of
from plutomi.services.ports import Dependencies
from plutomi.topology import EVENTS_STREAM, Consumer, all_tiers, module_of, tiers_of
from tests.support.import_watch import first_imports
from tests.support.jetstream import publish_events, with_new_consumer
from tests.support.numbered import number_of, numbered


async def _wait_for(done: Callable[[], bool], seconds: float = 10) -> None:
    """Returns once `done()` holds, or after `seconds`: the test's own asserts then tell what went wrong."""
    for _ in range(int(seconds * 10)):
        if done():
            return
        await asyncio.sleep(0.1)


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
        await publish_events(jetstream, events)
        bridge = Bridge(consumer, services["NATS_URL"], target=handler, fetch_timeout=0.2)
        task = asyncio.create_task(bridge.run())
        await _wait_for(lambda: sum(len(batch) for batch in calls) >= 9)
        await asyncio.sleep(0.5)  # room for any wrong extra redelivery to show up
        bridge.stop()
        await task
        assert bridge.counters.processed == 6 and bridge.counters.failed == 3

    state = asyncio.run(with_new_consumer(services["NATS_URL"], consumer, scenario))
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
        await publish_events(jetstream, [event])
        bridge = Bridge(consumer, services["NATS_URL"], target=handler, fetch_timeout=0.2)
        task = asyncio.create_task(bridge.run())
        await _wait_for(lambda: len(attempts) >= 2)
        bridge.stop()
        await task

    state = asyncio.run(with_new_consumer(services["NATS_URL"], consumer, scenario))
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
        await publish_events(jetstream, events)
        bridge = Bridge(consumer, services["NATS_URL"], target=handler, concurrency=concurrency)
        task = asyncio.create_task(bridge.run())
        await _wait_for(lambda: len(handled) >= len(events) or together.broken, seconds=30)
        bridge.stop()
        together.abort()  # lets any call still waiting go
        await task

    asyncio.run(with_new_consumer(services["NATS_URL"], consumer, scenario))
    assert most_inside == concurrency
    assert sorted(handled) == sorted(event.id for event in events)


def test_a_batch_fetched_ahead_is_not_settled_early_and_failures_nak_exactly_their_records(
    services: dict[str, str], deps: Dependencies
) -> None:
    """The bridge fetches the next batch while the handler works on one, and settles a batch while
    the handler works on the next. Nothing is acked while its handler has not answered (the first
    batch's handler is held until the batch after it has been fetched), a listed failure naks that
    record only, a raising handler naks its whole batch, and each other record is acked once."""
    org_id = f"ahead-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        f"test-ahead-{uuid.uuid4().hex[:8]}", "unused", ("org.updated",), batch_size=2, backoff_seconds=(0.1,)
    )
    events = [deps.event("org.updated", org_id, numbered(org_id, n)) for n in range(6)]
    release_first = threading.Event()
    calls: list[list[tuple[int, int]]] = []
    lock = threading.Lock()

    def handler(sqs_event: dict[str, Any]) -> dict[str, Any]:
        seen = [
            (number_of(json.loads(r["body"])["data"]), int(r["attributes"]["ApproximateReceiveCount"]))
            for r in sqs_event["Records"]
        ]
        with lock:
            calls.append(seen)
            first_call = len(calls) == 1
        if first_call:
            assert release_first.wait(15), "the test never released the first batch"
        if (2, 1) in seen:  # the second batch, first time: the handler raises
            raise RuntimeError("boom")
        failures = [
            {"itemIdentifier": r["messageId"]}
            for r, (n, attempt) in zip(sqs_event["Records"], seen, strict=True)
            if n == 0 and attempt == 1
        ]
        return {"batchItemFailures": failures}

    held_state: dict[str, int] = {}

    async def scenario(jetstream: Any) -> None:
        await publish_events(jetstream, events)
        bridge = Bridge(consumer, services["NATS_URL"], target=handler, fetch_timeout=0.2)
        task = asyncio.create_task(bridge.run())
        try:
            for _ in range(100):  # the first batch in the handler, the second one fetched ahead
                info = await jetstream.consumer_info(EVENTS_STREAM, consumer.name)
                if len(calls) == 1 and info.num_ack_pending == 4:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # room for a wrong early ack to show up
            info = await jetstream.consumer_info(EVENTS_STREAM, consumer.name)
            held_state.update(
                calls=len(calls), ack_pending=info.num_ack_pending, acked=info.ack_floor.consumer_seq
            )
        finally:
            release_first.set()
        await _wait_for(lambda: bridge.counters.processed >= 6)
        await asyncio.sleep(0.5)  # room for any wrong extra redelivery to show up
        bridge.stop()
        await task
        assert bridge.counters.processed == 6 and bridge.counters.failed == 3

    state = asyncio.run(with_new_consumer(services["NATS_URL"], consumer, scenario))
    assert held_state == {"calls": 1, "ack_pending": 4, "acked": 0}
    attempts: dict[int, list[int]] = {}
    for n, attempt in (item for call in calls for item in call):
        attempts.setdefault(n, []).append(attempt)
    assert attempts == {0: [1, 2], 1: [1], 2: [1, 2], 3: [1, 2], 4: [1], 5: [1]}
    assert state == {"ack_pending": 0, "pending": 0}


def _msg(reply: str) -> Msg:
    return Msg(_client=cast("NatsClient", None), reply=reply)


def test_the_bridge_message_lines_are_what_the_runtime_logger_writes() -> None:
    """The bridge renders a batch's log line once and splices each message's fields into it; each
    line must be what `logger.info` would write for that message (but its timestamp and location),
    also for an event id that needs escaping or is not ASCII, and for a record without one."""
    tier = tiers_of(Consumer("test-lines", "unused", ("org.updated",)))[0]
    bridge = Bridge(tier, "nats://127.0.0.1:1", target=lambda event: {})
    ids = ['evt_"quoted"\\', "evt_é☃", None]
    prepared = [
        Prepared(
            _msg(f"$JS.ACK.events.{tier.durable}.{n + 1}.{100 + n}.{n}.1764628800000000000.0"),
            "{}" if event_id else None,
            event_id,
        )
        for n, event_id in enumerate(ids)
    ]
    outcomes = ["ok", "retry", "dead_lettered"]
    handler = runtime_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    sink = io.StringIO()
    previous = handler.setStream(sink)
    try:
        bridge._log_messages(prepared, outcomes, 12.5)
        for item, outcome in zip(prepared, outcomes, strict=True):
            runtime_logger.info(
                "message",
                extra={
                    "tier": tier.durable,
                    "consumer": tier.consumer or tier.durable,
                    "event_id": item.event_id,
                    "stream_seq": item.stream_seq,
                    "attempt": item.attempt,
                    "outcome": outcome,
                    "latency_ms": 12.5,
                },
            )
    finally:
        handler.setStream(previous)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 6

    def comparable(line: str) -> tuple[list[str], dict[str, Any]]:
        fields = json.loads(line)
        assert fields.pop("timestamp") and fields.pop("location")
        return list(fields), fields

    assert [comparable(line) for line in lines[:3]] == [comparable(line) for line in lines[3:]]
    assert json.loads(lines[1])["event_id"] == "evt_é☃" and "event_id" not in json.loads(lines[2])


def test_the_delivery_read_from_an_ack_subject_is_what_nats_py_reads() -> None:
    """Stream, stream sequence and delivery count, from both forms of ack subject."""
    for reply in (
        "$JS.ACK.events.plutomi-notifications.3.1234.17.1764628800000000000.5",
        "$JS.ACK.hub.ACCHASH.events.plutomi-notifications.3.1234.17.1764628800000000000.5.token",
    ):
        msg = _msg(reply)
        metadata = _msg(reply).metadata
        assert _delivery_of(msg) == (metadata.stream, metadata.sequence.stream, metadata.num_delivered)
        assert _delivery_of(msg) == ("events", 1234, 3)
