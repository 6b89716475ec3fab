"""Retry and dead-letter handling: the meta consumers' work, the DLQ people read and redrive, and the
retry tier's parked pointers they can see and run now."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from plutomi import topology
from plutomi.domain.delivery import (
    RETRY_SUFFIX,
    Advisory,
    AttemptError,
    Pointer,
    business_consumer_of,
    dlq_subject,
    is_retry_tier,
    pointer_message_id,
    retry_subject,
)
from plutomi.domain.events import Event
from plutomi.domain.stream import ConsumerProgress, StoredMessage
from plutomi.services.ports import Dependencies
from plutomi.topology import ADVISORIES_STREAM, DLQ_STREAM, EVENTS_STREAM, RETRY_STREAM, Tier, tier_named

Progress = Callable[[int, int], None]  # (done, of): told now and then during a long scan


class OriginalGone(LookupError):
    """The event a pointer names has aged out of the `events` stream."""


def handle_advisory(deps: Dependencies, advisory: Advisory) -> dict[str, Any]:
    """The meta consumer: turns one exhausted delivery into a pointer on the next tier.

    An advisory about the meta consumer itself (handled by super-meta) names the advisory meta could
    not handle; it is fetched and handled the same way."""
    if advisory.stream == ADVISORIES_STREAM:
        stored = deps.event_bus.get(ADVISORIES_STREAM, advisory.stream_seq)
        if stored is None:
            return {"outcome": "advisory_gone"}
        return handle_advisory(deps, Advisory.model_validate_json(stored.data))
    if advisory.stream == EVENTS_STREAM:
        pointer = Pointer(
            stream=EVENTS_STREAM,
            seq=advisory.stream_seq,
            consumer=advisory.consumer,
            deliveries=advisory.deliveries,
            advisory_id=advisory.id,
        )
        _publish(deps, retry_subject(advisory.consumer), pointer)
        return {"outcome": "retry", "seq": pointer.seq}
    if advisory.stream == RETRY_STREAM and is_retry_tier(advisory.consumer):
        stored = deps.event_bus.get(RETRY_STREAM, advisory.stream_seq)
        if stored is None:
            return {"outcome": "pointer_gone"}
        earlier = Pointer.model_validate_json(stored.data)
        consumer = business_consumer_of(advisory.consumer)
        pointer = earlier.model_copy(
            update={
                "consumer": consumer,
                "deliveries": earlier.deliveries + advisory.deliveries,
                "advisory_id": advisory.id,
            }
        )
        _publish(deps, dlq_subject(consumer), pointer)
        return {"outcome": "dead_lettered", "seq": pointer.seq}
    return {"outcome": "ignored"}


def _publish(deps: Dependencies, subject: str, pointer: Pointer) -> None:
    # Keyed by the original's sequence: a redelivered advisory, or a pointer the bridge already
    # published for the same final failure, is deduplicated by the stream.
    deps.event_bus.publish(
        subject, pointer.model_dump_json().encode(), message_id=pointer_message_id(subject, pointer.seq)
    )


def original_of(deps: Dependencies, pointer: Pointer) -> Event:
    stored = deps.event_bus.get(pointer.stream, pointer.seq)
    if stored is None:
        raise OriginalGone(
            f"event #{pointer.seq} has aged out of the {pointer.stream} stream; "
            "it can no longer be shown or redriven"
        )
    return Event.model_validate_json(stored.data)


def record_failure(deps: Dependencies, error: AttemptError, org_id: str | None = None) -> None:
    """Keeps a failed attempt's error; `org_id` is the event's org, so purging the org removes it."""
    deps.store.attempt_errors.record(error, org_id)


# ---------------------------------------------------------------- the DLQ, for people


@dataclass(frozen=True)
class DeadLetter:
    """A parked pointer and the original it names: a DLQ entry, or (`stream` is `events-retry`) a
    pointer on the retry tier."""

    id: int  # its sequence in `stream`
    consumer: str
    pointer: Pointer
    event: Event | None  # None when the original aged out or is not an event at all
    problem: str | None = None  # why `event` is None
    stream: str = DLQ_STREAM


def dead_letters(
    deps: Dependencies, consumer: str | None = None, progress: Progress | None = None
) -> list[DeadLetter]:
    first, last = deps.event_bus.sequence_range(DLQ_STREAM)
    found = []
    for seq in range(first, last + 1) if first and last >= first else ():
        entry = dead_letter(deps, seq)
        if entry is not None and (consumer is None or entry.consumer == consumer):
            found.append(entry)
        if progress is not None and (seq - first) % 100 == 99:
            progress(seq - first + 1, last - first + 1)
    return found


def depth_by_consumer(deps: Dependencies) -> dict[str, int]:
    """How many entries each consumer's DLQ holds: every business consumer of the topology (0 when
    its DLQ is empty, so an alarm on it always has data), and any other consumer with entries left.
    One stream-info request (its per-subject counts), whatever the DLQ's size."""
    waiting = deps.event_bus.subjects(DLQ_STREAM, dlq_subject(">"))
    depth = {consumer.name: 0 for consumer in topology.CONSUMERS}
    for subject, count in waiting.items():
        consumer = subject.partition(".")[2]
        depth[consumer] = depth.get(consumer, 0) + count
    return depth


def dead_letter(deps: Dependencies, dlq_id: int) -> DeadLetter | None:
    stored = deps.event_bus.get(DLQ_STREAM, dlq_id)
    return None if stored is None else parked(deps, stored)


def parked(deps: Dependencies, stored: StoredMessage) -> DeadLetter:
    """The entry a pointer message makes (on `retry.C` or `dlq.C`), with its original when available."""
    pointer = Pointer.model_validate_json(stored.data)
    consumer = stored.subject.partition(".")[2]
    entry = DeadLetter(id=stored.seq, consumer=consumer, pointer=pointer, event=None, stream=stored.stream)
    try:
        return _with_event(entry, original_of(deps, pointer))
    except OriginalGone as gone:
        return _with_problem(entry, str(gone))
    except ValidationError:
        return _with_problem(
            entry, f"{pointer.stream} #{pointer.seq} is not an event envelope; it can only be discarded"
        )


def _with_event(entry: DeadLetter, event: Event) -> DeadLetter:
    return DeadLetter(entry.id, entry.consumer, entry.pointer, event, None, entry.stream)


def _with_problem(entry: DeadLetter, problem: str) -> DeadLetter:
    return DeadLetter(entry.id, entry.consumer, entry.pointer, None, problem, entry.stream)


def attempts_of(deps: Dependencies, entry: DeadLetter) -> list[AttemptError]:
    if entry.event is None:
        return []
    return deps.store.attempt_errors.for_event(entry.consumer, entry.event.id)


def discard(deps: Dependencies, dlq_id: int) -> bool:
    return deps.event_bus.delete(DLQ_STREAM, dlq_id)


def redrive(deps: Dependencies, entry: DeadLetter, run_original: Callable[[DeadLetter, Event], bool]) -> None:
    """Runs the original through its consumer's handler again (`run_original` says whether it
    succeeded); on success the pointer leaves its stream (the DLQ, or the retry tier: `retry-now`),
    else it stays with the new error recorded. A crash between the two leaves the pointer, and its
    next run finds the consumer's idempotency record completed: the effect still happens once."""
    if entry.event is None:
        raise RedriveFailed(entry.problem or "the original event is not available")
    if not run_original(entry, entry.event):
        raise RedriveFailed(
            f"{entry.consumer} failed again on event {entry.event.id}; see `plutomi trace {entry.event.id}`"
        )
    deps.event_bus.delete(entry.stream, entry.id)


class RedriveFailed(RuntimeError):
    pass


def consumer_function(consumer: str) -> str:
    function = tier_named(consumer).function
    assert function is not None
    return function


def describe(entry: DeadLetter) -> dict[str, Any]:
    return {
        "id": entry.id,
        "stream": entry.stream,
        "consumer": entry.consumer,
        "event_id": entry.event.id if entry.event else None,
        "event_type": entry.event.type if entry.event else None,
        "original": {"stream": entry.pointer.stream, "seq": entry.pointer.seq},
        "deliveries": entry.pointer.deliveries,
        "original_available": entry.event is not None,
        "problem": entry.problem,
    }


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


# ---------------------------------------------------------------- the retry tier, for people

RetryState = Literal["waiting", "in_flight", "backing_off", "due"]


@dataclass(frozen=True)
class ParkedRetry:
    """A pointer on the retry tier that its consumer has not handled yet, and when it runs next."""

    entry: DeadLetter
    attempts: int  # deliveries on the retry tier that failed so far
    # When the retry bridge delivers it again (its back-off after the last failure). None: as soon
    # as a bridge takes it; for `in_flight`, after the ack wait if the bridge holding it crashed.
    next_attempt_at: datetime | None
    state: RetryState  # waiting: not delivered yet; in_flight: delivered, no failure recorded
    due_now: bool

    @property
    def retry_tier(self) -> str:
        return f"{self.entry.consumer}{RETRY_SUFFIX}"


def retry_pointers(
    deps: Dependencies,
    consumer: str | None = None,
    progress: Progress | None = None,
    from_start: bool = False,
) -> Iterator[tuple[StoredMessage, Pointer, ConsumerProgress | None]]:
    """Every pointer the retry stream holds on `retry.C` (for every C, or one), with the retry
    tier's progress: from the oldest one the tier has not acked (those at or below its ack floor are
    settled), or `from_start`. A subject with no retry tier is read from its start (progress None)."""
    subjects = deps.event_bus.subjects(RETRY_STREAM, "retry.>")
    total = sum(subjects.values())
    read = 0
    for subject in sorted(subjects):
        name = subject.removeprefix("retry.")
        if consumer is not None and name != consumer:
            continue
        tier_progress = deps.event_bus.consumer_progress(RETRY_STREAM, f"{name}{RETRY_SUFFIX}")
        seq = 1 if from_start or tier_progress is None else tier_progress.ack_floor_seq + 1
        while (stored := deps.event_bus.next_message(RETRY_STREAM, subject, seq)) is not None:
            seq = stored.seq + 1
            read += 1
            if progress is not None and read % 100 == 0:
                progress(read, total)
            try:
                pointer = Pointer.model_validate_json(stored.data)
            except ValidationError:
                continue  # not a pointer: the retry bridge sends it to the DLQ as it is
            yield stored, pointer, tier_progress


def parked_retries(
    deps: Dependencies,
    completed: Callable[[str, str], bool],
    consumer: str | None = None,
    dead_lettered: list[DeadLetter] | None = None,
    progress: Progress | None = None,
) -> list[ParkedRetry]:
    """What waits on the retry tier: pointers its consumer has not acked, leaving out those already
    handed on to the DLQ (in `dead_lettered`) and those whose event the consumer has handled
    (`completed(consumer, event_id)`: its idempotency record is completed; the bridge acks them
    without running them again). Pointers of a consumer with no retry tier are left out: nobody
    runs them."""
    in_dlq = {(e.consumer, e.pointer.seq) for e in dead_lettered or ()}
    now = deps.clock.now()
    found = []
    for stored, pointer, tier_progress in retry_pointers(deps, consumer, progress):
        if tier_progress is None or (stored.subject.partition(".")[2], pointer.seq) in in_dlq:
            continue
        entry = parked(deps, stored)
        if entry.event is not None and completed(entry.consumer, entry.event.id):
            continue
        waiting = _next_attempt(deps, entry, tier_progress, now)
        if waiting is not None:
            found.append(waiting)
    return found


def _next_attempt(
    deps: Dependencies, entry: DeadLetter, progress: ConsumerProgress, now: datetime
) -> ParkedRetry | None:
    """When the retry bridge runs the pointer next (None: never, it used up the tier's deliveries
    and was handed on to the DLQ). JetStream does not say per message, so it is derived from the
    consumer's delivered sequence, the failures recorded on the retry tier (each with its delivery
    number and time) and the tier's back-off, as the bridge applies it."""
    failures = [a for a in attempts_of(deps, entry) if a.tier == "retry"]
    if entry.id > progress.delivered_seq:
        return ParkedRetry(entry, len(failures), None, "waiting", True)
    if not failures:
        return ParkedRetry(entry, 0, None, "in_flight", False)
    last = failures[-1]
    tier = _tier_or_none(f"{entry.consumer}{RETRY_SUFFIX}")
    if tier is None:  # not in this topology: its back-off is unknown here
        return ParkedRetry(entry, len(failures), None, "backing_off", False)
    if 0 < tier.max_deliveries <= last.attempt:
        return None
    at = last.at + timedelta(seconds=tier.delay_after(last.attempt))
    due = at <= now
    return ParkedRetry(entry, len(failures), at, "due" if due else "backing_off", due)


def _tier_or_none(durable: str) -> Tier | None:
    try:
        return tier_named(durable)
    except LookupError:
        return None


def parked_retry(deps: Dependencies, seq: int) -> DeadLetter | None:
    """The retry stream's pointer at `seq`, or None when there is none (or it is not a pointer)."""
    stored = deps.event_bus.get(RETRY_STREAM, seq)
    if stored is None or not stored.subject.startswith("retry."):
        return None
    try:
        return parked(deps, stored)
    except ValidationError:
        return None


def describe_retry(waiting: ParkedRetry) -> dict[str, Any]:
    return {
        **describe(waiting.entry),
        "retry_attempts": waiting.attempts,
        "state": waiting.state,
        "next_attempt_at": waiting.next_attempt_at,
        "due_now": waiting.due_now,
    }
