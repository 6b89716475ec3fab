"""`plutomi trace EVENT_ID`: where one event went (see services/event_trace.py)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from plutomi.bootstrap import dependencies
from plutomi.entrypoints.consumer import idempotency_key
from plutomi.runtime.dlq import next_attempt_text
from plutomi.runtime.operator import ProgressLine, attempt_line, operator_command, when
from plutomi.services import dead_letters
from plutomi.services.event_trace import ConsumerTrace, EventTrace, NotAnEventId, trace


@operator_command("trace")
def trace_event(event_id: str, as_json: bool = False) -> int:
    deps = dependencies()
    progress = ProgressLine(f"tracing {event_id}")
    try:
        found = trace(deps, event_id, idempotency_key, progress)
    except NotAnEventId as error:
        print(f"plutomi trace: {error}", file=sys.stderr)
        return 1
    finally:
        progress.finish()
    if found is None:
        print(
            f"plutomi trace: no event {event_id} in the outbox or the events stream "
            "(unknown, or older than both keep events)",
            file=sys.stderr,
        )
        return 1
    if as_json:
        print(dead_letters.as_json(describe(found)))
    else:
        print_trace(found, deps.clock.now())
    return 0


def describe(found: EventTrace) -> dict[str, Any]:
    message = found.message
    waiting = {w.entry.id: w for w in found.waiting_retries}
    return {
        "event_id": found.event_id,
        "event": found.event.model_dump(mode="json") if found.event else None,
        "outbox": found.outbox,
        "stream": {"stream": message.stream, "seq": message.seq, "subject": message.subject}
        if message
        else None,
        "consumers": [_consumer(c) for c in found.consumers],
        "webhook_deliveries": [d.model_dump(mode="json") for d in found.webhook_deliveries],
        "retry_pointers": [
            {
                **dead_letters.describe(p),
                "waiting": p.id in waiting,
                **({"next_attempt": dead_letters.describe_retry(waiting[p.id])} if p.id in waiting else {}),
            }
            for p in found.retry_pointers
        ],
        "dlq_pointers": [dead_letters.describe(p) for p in found.dlq_pointers],
    }


def _consumer(consumer: ConsumerTrace) -> dict[str, Any]:
    record = consumer.record
    return {
        "consumer": consumer.consumer,
        "idempotency": None
        if record is None
        else {
            "key": record.key,
            "status": record.status,
            "expiry": record.expires_at,
            "in_progress_expiry": record.claim_lapses_at,
            "updated_at": record.updated_at,
        },
        "effect": consumer.effect,
        "attempt_errors": [a.model_dump(mode="json") for a in consumer.attempts],
    }


def print_trace(found: EventTrace, now: datetime) -> None:
    event = found.event
    print(f"event {found.event_id}" + (f"  {event.type}  org {event.org_id or '-'}" if event else ""))
    outbox = found.outbox
    if outbox is None:
        print("  outbox:   no record (sent events are kept 7 days)")
    elif outbox["pending"]:
        print(
            f"  outbox:   written {_at(outbox['written_at'], now)}, pending: the relay has not published it"
        )
    else:
        print(f"  outbox:   written {_at(outbox['written_at'], now)}, sent {outbox['sent_at']}")
    message = found.message
    if message is None:
        print("  stream:   not in the events stream")
    else:
        print(f"  stream:   {message.stream} #{message.seq}  {message.subject}")
    for consumer in found.consumers:
        record = consumer.record
        if record is None:
            state = "no idempotency record (not handled yet, or its record expired)"
        elif record.in_progress:
            lapse = record.claim_lapses_at
            state = f"IN PROGRESS, claim {'lapsed' if lapse and lapse < now else 'held'} {when(lapse, now)}"
        else:
            state = f"{record.status}, record kept until {when(record.expires_at, now)}"
        print(f"  consumer {consumer.consumer}: {state}")
        if consumer.effect is not None:
            print(f"    effect: {json.dumps(consumer.effect, default=str)}")
        for attempt in consumer.attempts:
            print(f"    failed {attempt_line(attempt)}")
    for delivery in found.webhook_deliveries:
        code = delivery.status_code if delivery.status_code is not None else "-"
        print(
            f"  webhook {delivery.webhook_id}: attempt {delivery.attempt} {delivery.outcome} (HTTP {code}, "
            f"{delivery.latency_ms} ms){' ' + delivery.error if delivery.error else ''}"
        )
    waiting = {w.entry.id: w for w in found.waiting_retries}
    for pointer in found.retry_pointers:
        state = (
            f"waiting, next attempt {next_attempt_text(waiting[pointer.id], now)}"
            if pointer.id in waiting
            else "settled"
        )
        print(f"  retry pointer {pointer.stream} #{pointer.id} ({pointer.consumer}): {state}")
    for pointer in found.dlq_pointers:
        print(
            f"  DLQ entry {pointer.id} ({pointer.consumer}), deliveries={pointer.pointer.deliveries}: "
            f"`plutomi dlq redrive {pointer.id}`"
        )
    if not found.retry_pointers and not found.dlq_pointers:
        print("  no retry or DLQ pointers name it")


def _at(moment: Any, now: datetime) -> str:
    return when(moment, now) if isinstance(moment, datetime) else str(moment)
