"""Retry and dead-letter handling: the meta consumers' work, and the DLQ people read and redrive."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from plutomi.domain.delivery import (
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
from plutomi.services.ports import Dependencies
from plutomi.topology import ADVISORIES_STREAM, DLQ_STREAM, EVENTS_STREAM, RETRY_STREAM, tier_named


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
    id: int  # its sequence in the DLQ stream
    consumer: str
    pointer: Pointer
    event: Event | None  # None when the original aged out or is not an event at all
    problem: str | None = None  # why `event` is None


def dead_letters(deps: Dependencies, consumer: str | None = None) -> list[DeadLetter]:
    first, last = deps.event_bus.sequence_range(DLQ_STREAM)
    found = []
    for seq in range(first, last + 1) if first and last >= first else ():
        entry = dead_letter(deps, seq)
        if entry is not None and (consumer is None or entry.consumer == consumer):
            found.append(entry)
    return found


def dead_letter(deps: Dependencies, dlq_id: int) -> DeadLetter | None:
    stored = deps.event_bus.get(DLQ_STREAM, dlq_id)
    if stored is None:
        return None
    pointer = Pointer.model_validate_json(stored.data)
    consumer = stored.subject.removeprefix("dlq.")
    try:
        return DeadLetter(id=dlq_id, consumer=consumer, pointer=pointer, event=original_of(deps, pointer))
    except OriginalGone as gone:
        return DeadLetter(id=dlq_id, consumer=consumer, pointer=pointer, event=None, problem=str(gone))
    except ValidationError:
        problem = f"{pointer.stream} #{pointer.seq} is not an event envelope; it can only be discarded"
        return DeadLetter(id=dlq_id, consumer=consumer, pointer=pointer, event=None, problem=problem)


def attempts_of(deps: Dependencies, entry: DeadLetter) -> list[AttemptError]:
    if entry.event is None:
        return []
    return deps.store.attempt_errors.for_event(entry.consumer, entry.event.id)


def discard(deps: Dependencies, dlq_id: int) -> bool:
    return deps.event_bus.delete(DLQ_STREAM, dlq_id)


def redrive(deps: Dependencies, entry: DeadLetter, run_original: Callable[[DeadLetter, Event], bool]) -> None:
    """Runs the original through its consumer's handler again (`run_original` says whether it
    succeeded); on success the entry leaves the DLQ, else it stays with the new error recorded."""
    if entry.event is None:
        raise RedriveFailed(entry.problem or "the original event is not available")
    if not run_original(entry, entry.event):
        raise RedriveFailed(
            f"{entry.consumer} failed again on event {entry.event.id}; see `plutomi dlq show {entry.id}`"
        )
    deps.event_bus.delete(DLQ_STREAM, entry.id)


class RedriveFailed(RuntimeError):
    pass


def consumer_function(consumer: str) -> str:
    function = tier_named(consumer).function
    assert function is not None
    return function


def describe(entry: DeadLetter) -> dict[str, Any]:
    return {
        "id": entry.id,
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
