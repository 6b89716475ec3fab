"""Events a consumer cannot handle go main -> retry -> DLQ as pointers, never copies, with every
attempt's error kept; the DLQ can be read, redriven and discarded. Nothing is lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import nats
import pytest

from plutomi import topology
from plutomi.domain.events import Event
from plutomi.services import dead_letters
from plutomi.services.dead_letters import DeadLetter
from plutomi.services.ports import Dependencies
from plutomi.topology import DLQ_STREAM, EVENTS_STREAM, RETRY_STREAM
from tests.support.numbered import number_of, numbered
from tests.support.stack import RunningStack
from tests.support.tiers import fast_consumer, running_tiers


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


async def publish_raw(nats_url: str, subject: str, payload: bytes) -> None:
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().publish(subject, payload)
    finally:
        await connection.close()


def test_a_failing_event_moves_through_the_tiers_and_can_be_redriven(
    stack: RunningStack, deps: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = fast_consumer("org.updated")
    monkeypatch.setattr(topology, "CONSUMERS", (*topology.CONSUMERS, consumer))  # for `parked_retries`
    org_id = f"tiers-{uuid.uuid4().hex[:8]}"
    broken: set[int] = {1}
    handled: list[str] = []

    def process(event: Event) -> dict[str, Any]:
        if event.org_id != org_id:
            return {"ignored": True}
        if number_of(event.data) in broken:
            raise RuntimeError(f"cannot handle {number_of(event.data)}")
        handled.append(event.id)
        return {"ok": True}

    with running_tiers(deps.settings.nats_url, consumer, process) as handler:
        # Written to the outbox; the relay in the running stack publishes them to the main tier.
        events = [deps.emit("org.updated", org_id, numbered(org_id, n)) for n in range(3)]
        wait_for(lambda: len(dead_letters.dead_letters(deps, consumer.name)) == 1)
        [entry] = dead_letters.dead_letters(deps, consumer.name)
        assert entry.event is not None and entry.event.id == events[1].id
        assert entry.pointer.stream == EVENTS_STREAM and entry.pointer.deliveries == 6
        # A pointer, never a copy: the DLQ message is small and names the original's sequence.
        stored = deps.event_bus.get(DLQ_STREAM, entry.id)
        assert stored is not None and events[1].id not in stored.data.decode()
        attempts = dead_letters.attempts_of(deps, entry)
        assert [(a.tier, a.attempt) for a in attempts] == [
            ("main", 1),
            ("main", 2),
            ("main", 3),
            ("retry", 1),
            ("retry", 2),
            ("retry", 3),
        ]
        assert all(a.error_type == "RuntimeError" and "cannot handle 1" in a.message for a in attempts)
        assert sorted(handled) == sorted([events[0].id, events[2].id])
        # Its retry pointer used up the retry tier's deliveries: nothing waits there any more, whether
        # or not the DLQ entry is known (it may have been discarded).
        never = lambda consumer, event_id: False  # noqa: E731
        assert dead_letters.parked_retries(deps, never, consumer.name, [entry]) == []
        assert dead_letters.parked_retries(deps, never, consumer.name) == []

        # Still broken: redrive keeps it in the DLQ and records the new failure.
        def run(entry: DeadLetter, event: Event) -> bool:
            from plutomi.runtime.aws_events import sqs_event, sqs_record

            response = handler(
                sqs_event([sqs_record(event.model_dump_json(), attributes={"plutomi-tier": "redrive"})])
            )
            return not response["batchItemFailures"]

        try:
            dead_letters.redrive(deps, entry, run)
            raise AssertionError("a redrive that fails again must say so")
        except dead_letters.RedriveFailed:
            pass
        assert len(dead_letters.dead_letters(deps, consumer.name)) == 1
        assert dead_letters.attempts_of(deps, entry)[-1].tier == "redrive"

        broken.clear()  # the fault is fixed
        dead_letters.redrive(deps, entry, run)
        assert dead_letters.dead_letters(deps, consumer.name) == []
        assert sorted(handled) == sorted(e.id for e in events)


def test_an_unparseable_record_goes_straight_to_the_dlq(stack: RunningStack, deps: Dependencies) -> None:
    consumer = fast_consumer("org.deleted", prefix="garbage")
    calls: list[str] = []

    def process(event: Event) -> dict[str, Any]:
        calls.append(event.id)
        return {}

    with running_tiers(deps.settings.nats_url, consumer, process):
        asyncio.run(publish_raw(deps.settings.nats_url, "events.org.deleted", b"{not an event"))
        wait_for(lambda: len(dead_letters.dead_letters(deps, consumer.name)) == 1, timeout=15)
    [entry] = dead_letters.dead_letters(deps, consumer.name)
    assert entry.event is None and entry.problem and "not an event envelope" in entry.problem
    assert entry.pointer.deliveries == 1  # not retried
    assert calls == []
    assert dead_letters.discard(deps, entry.id)
    assert dead_letters.dead_letters(deps, consumer.name) == []


def test_the_retry_stream_holds_pointers(deps: Dependencies, stack: RunningStack) -> None:
    first, last = deps.event_bus.sequence_range(RETRY_STREAM)
    for seq in range(max(first, 1), last + 1):
        stored = deps.event_bus.get(RETRY_STREAM, seq)
        if stored is not None:
            assert set(__import__("json").loads(stored.data)) == {
                "stream",
                "seq",
                "consumer",
                "deliveries",
                "advisory_id",
            }
