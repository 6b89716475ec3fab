"""One event's path through the pipeline, for operators (`plutomi trace`): the outbox, the `events`
stream, each consumer's idempotency record and failed attempts, the webhook deliveries, the retry and
DLQ pointers naming it, and the effect each consumer reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from plutomi import topology
from plutomi.domain.delivery import AttemptError
from plutomi.domain.events import SUBJECT_PREFIX, Event
from plutomi.domain.idempotency import IdempotencyRecord
from plutomi.domain.ids import timestamp_ms_of
from plutomi.domain.stream import StoredMessage
from plutomi.domain.webhooks import Delivery
from plutomi.services import dead_letters
from plutomi.services.dead_letters import DeadLetter, ParkedRetry, Progress
from plutomi.services.ports import Dependencies
from plutomi.topology import ALL_EVENTS, EVENTS_STREAM

# The relay publishes an event after it is written and marks it sent after JetStream acked it; the
# margin covers clocks that differ between the writer, the relay and NATS.
CLOCK_MARGIN = timedelta(seconds=30)
# Without an outbox record (sent ones are kept for 7 days) the stream is searched this long after
# the time in the event's id.
UNSENT_SEARCH_WINDOW = timedelta(hours=1)


class NotAnEventId(ValueError):
    pass


@dataclass(frozen=True)
class ConsumerTrace:
    consumer: str
    idempotency_key: str
    record: IdempotencyRecord | None
    attempts: list[AttemptError]

    @property
    def effect(self) -> Any:
        """What the consumer's handler returned, once it completed (e.g. `{"sent": true, ...}`)."""
        if self.record is None or not self.record.response_data:
            return None
        try:
            return json.loads(self.record.response_data)
        except ValueError:
            return self.record.response_data


@dataclass(frozen=True)
class EventTrace:
    event_id: str
    event: Event | None
    outbox: dict[str, Any] | None  # {"written_at", "sent_at", "pending"}; None when not (or no longer) kept
    message: StoredMessage | None  # the event in the `events` stream
    consumers: list[ConsumerTrace] = field(default_factory=list)
    webhook_deliveries: list[Delivery] = field(default_factory=list)
    retry_pointers: list[DeadLetter] = field(default_factory=list)
    waiting_retries: list[ParkedRetry] = field(default_factory=list)
    dlq_pointers: list[DeadLetter] = field(default_factory=list)


def trace(
    deps: Dependencies,
    event_id: str,
    key_of: Callable[[str, str], str],
    progress: Progress | None = None,
) -> EventTrace | None:
    """The event's path; None when neither the outbox nor the `events` stream knows the id.
    `key_of(consumer, event_id)` is the consumer's idempotency key of the event."""
    if not event_id.startswith("evt_"):
        raise NotAnEventId(f"{event_id!r} is not an event id (they look like evt_01J...)")
    try:
        written = datetime.fromtimestamp(timestamp_ms_of(event_id) / 1000, UTC)
    except (ValueError, OverflowError) as error:
        raise NotAnEventId(f"{event_id!r} is not an event id (they look like evt_01J...)") from error
    document = deps.store.outbox.get(event_id)
    event = Event.model_validate(document["event"]) if document is not None else None
    outbox = None if document is None else _outbox_state(document)
    message = _find_in_stream(deps, event_id, event, written, outbox)
    if event is None and message is not None:
        try:
            event = Event.model_validate_json(message.data)
        except ValidationError:
            event = None
    if document is None and message is None:
        return None
    retry_pointers: list[DeadLetter] = []
    dlq_pointers: list[DeadLetter] = []
    if message is not None:
        retry_pointers = [
            dead_letters.parked(deps, stored)
            for stored, pointer, _ in dead_letters.retry_pointers(deps, progress=progress, from_start=True)
            if pointer.seq == message.seq and pointer.stream == EVENTS_STREAM
        ]
        dlq_pointers = [
            entry
            for entry in dead_letters.dead_letters(deps, progress=progress)
            if entry.pointer.seq == message.seq and entry.pointer.stream == EVENTS_STREAM
        ]
    names = _consumers_of(event) | {p.consumer for p in retry_pointers + dlq_pointers}
    consumers = [
        ConsumerTrace(
            name,
            key_of(name, event_id),
            deps.store.idempotency.get(key_of(name, event_id)),
            deps.store.attempt_errors.for_event(name, event_id),
        )
        for name in sorted(names)
    ]
    completed = {c.consumer for c in consumers if c.record is not None and c.record.status == "COMPLETED"}
    waiting = [
        parked
        for name in sorted({p.consumer for p in retry_pointers})
        for parked in dead_letters.parked_retries(
            deps, lambda consumer, _: consumer in completed, name, dead_lettered=dlq_pointers
        )
        if message is not None and parked.entry.pointer.seq == message.seq
    ]
    deliveries = deps.store.deliveries.for_event(event.org_id, event_id) if event and event.org_id else []
    return EventTrace(
        event_id, event, outbox, message, consumers, deliveries, retry_pointers, waiting, dlq_pointers
    )


def _outbox_state(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "written_at": document.get("created_at"),
        "sent_at": document.get("sent_at"),
        "pending": "pending_since_ms" in document,
    }


def _find_in_stream(
    deps: Dependencies,
    event_id: str,
    event: Event | None,
    written: datetime,
    outbox: dict[str, Any] | None,
) -> StoredMessage | None:
    """The event in the `events` stream (published with `Nats-Msg-Id` = its id), read from the time
    it was written to the time the relay marked it sent."""
    if outbox is not None and outbox["pending"]:
        return None  # not published yet
    since = (event.occurred_at if event else written) - CLOCK_MARGIN
    sent_at = outbox.get("sent_at") if outbox else None
    until = datetime.fromisoformat(sent_at) if isinstance(sent_at, str) else written + UNSENT_SEARCH_WINDOW
    subject = event.subject if event is not None else f"{SUBJECT_PREFIX}.>"
    return deps.event_bus.find_message(EVENTS_STREAM, subject, event_id, since, until + CLOCK_MARGIN)


def _consumers_of(event: Event | None) -> set[str]:
    """The business consumers whose main tier receives the event."""
    if event is None:
        return set()
    return {c.name for c in topology.CONSUMERS if ALL_EVENTS in c.event_types or event.type in c.event_types}
