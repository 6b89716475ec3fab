"""`plutomi dlq list|show|redrive|discard`: the dead-letter queue, for people."""

from __future__ import annotations

import json

from plutomi.bootstrap import dependencies
from plutomi.domain.events import Event
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.bridge import in_process_target
from plutomi.services import dead_letters
from plutomi.services.dead_letters import DeadLetter, RedriveFailed
from plutomi.topology import DLQ_STREAM


def run_through_consumer(entry: DeadLetter, event: Event) -> bool:
    """Calls the consumer's handler with the original, as its bridge would."""
    record = sqs_record(
        event.model_dump_json(),
        message_id=f"{DLQ_STREAM}:{entry.id}",
        receive_count=entry.pointer.deliveries + 1,
        attributes={"plutomi-tier": "redrive", "plutomi-consumer": entry.consumer},
    )
    response = in_process_target(dead_letters.consumer_function(entry.consumer))(sqs_event([record]))
    return not response.get("batchItemFailures")


def list_entries(consumer: str | None) -> int:
    entries = dead_letters.dead_letters(dependencies(), consumer)
    if not entries:
        print("the DLQ is empty" + (f" for {consumer}" if consumer else ""))
    for entry in entries:
        what = f"{entry.event.type} {entry.event.id}" if entry.event else f"({entry.problem})"
        print(f"{entry.id:>8}  {entry.consumer:<16} deliveries={entry.pointer.deliveries:<3} {what}")
    return 0


def show(dlq_id: int) -> int:
    deps = dependencies()
    entry = dead_letters.dead_letter(deps, dlq_id)
    if entry is None:
        print(f"no DLQ entry {dlq_id}")
        return 1
    print(dead_letters.as_json(dead_letters.describe(entry)))
    if entry.event is None:
        print(f"\nThe original is not available: {entry.problem}")
    else:
        print("\nevent:\n" + json.dumps(entry.event.model_dump(mode="json"), indent=2))
    attempts = dead_letters.attempts_of(deps, entry)
    print(f"\nattempts that failed ({len(attempts)}):")
    for attempt in attempts:
        when = f"{attempt.at:%Y-%m-%d %H:%M:%S}"
        print(f"  {when}  {attempt.tier:<8} #{attempt.attempt}  {attempt.error_type}: {attempt.message}")
    return 0


def redrive(dlq_ids: list[int], every: bool, consumer: str | None) -> int:
    deps = dependencies()
    if every:
        entries = dead_letters.dead_letters(deps, consumer)
    else:
        entries = [e for e in (dead_letters.dead_letter(deps, i) for i in dlq_ids) if e is not None]
        missing = set(dlq_ids) - {e.id for e in entries}
        for dlq_id in sorted(missing):
            print(f"{dlq_id}: no such DLQ entry")
    failed = 0
    for number, entry in enumerate(entries, start=1):
        try:
            dead_letters.redrive(deps, entry, run_through_consumer)
            print(f"[{number}/{len(entries)}] {entry.id}: redriven through {entry.consumer}")
        except RedriveFailed as error:
            failed += 1
            print(f"[{number}/{len(entries)}] {entry.id}: still failing, kept in the DLQ: {error}")
    print(f"redriven {len(entries) - failed}, still in the DLQ {failed}")
    return 1 if failed else 0


def discard(dlq_id: int) -> int:
    if dead_letters.discard(dependencies(), dlq_id):
        print(f"{dlq_id}: discarded")
        return 0
    print(f"no DLQ entry {dlq_id}")
    return 1
