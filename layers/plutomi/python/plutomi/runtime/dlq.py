"""`plutomi dlq list|show|redrive|discard|retry-now`: the dead-letter queue and the retry tier, for
people."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from plutomi.bootstrap import dependencies
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import idempotency_key
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.bridge import Target, in_process_target
from plutomi.runtime.operator import ProgressLine, attempt_line, operator_command, when
from plutomi.services import dead_letters
from plutomi.services.dead_letters import DeadLetter, ParkedRetry, RedriveFailed
from plutomi.services.ports import Dependencies
from plutomi.topology import DLQ_STREAM


def consumer_target(consumer: str) -> Target:
    """The consumer's handler, called in this process as its bridge would call it."""
    return in_process_target(dead_letters.consumer_function(consumer))


def run_through_consumer(entry: DeadLetter, event: Event, target: Target | None = None) -> bool:
    """Calls the consumer's handler (or `target`) with the original, as its bridge would."""
    on_dlq = entry.stream == DLQ_STREAM
    record = sqs_record(
        event.model_dump_json(),
        message_id=f"{entry.stream}:{entry.id}",
        receive_count=entry.pointer.deliveries + 1,
        attributes={"plutomi-tier": "redrive" if on_dlq else "retry-now", "plutomi-consumer": entry.consumer},
    )
    response = (target or consumer_target(entry.consumer))(sqs_event([record]))
    return not response.get("batchItemFailures")


def completed(deps: Dependencies) -> Callable[[str, str], bool]:
    """`completed(consumer, event_id)`: whether the consumer's idempotency record of it is completed."""

    def check(consumer: str, event_id: str) -> bool:
        record = deps.store.idempotency.get(idempotency_key(consumer, event_id))
        return record is not None and record.status == "COMPLETED"

    return check


@operator_command("dlq list")
def list_entries(consumer: str | None, as_json: bool = False) -> int:
    deps = dependencies()
    progress = ProgressLine("reading the DLQ and the retry tier")
    try:
        entries = dead_letters.dead_letters(deps, consumer, progress)
        waiting = dead_letters.parked_retries(deps, completed(deps), consumer, entries, progress)
    finally:
        progress.finish()
    due = sum(1 for w in waiting if w.due_now)
    if as_json:
        listing = {
            "retry": [dead_letters.describe_retry(w) for w in waiting],
            "dlq": [dead_letters.describe(e) for e in entries],
            "counts": {"retry": len(waiting), "retry_due_now": due, "dlq": len(entries)},
        }
        print(dead_letters.as_json(listing))
        return 0
    now = deps.clock.now()
    for_consumer = f" for {consumer}" if consumer else ""
    if waiting:
        print(f"retry tier{for_consumer}: {len(waiting)} waiting ({due} due now)")
        print(f"{'seq':>8}  {'consumer':<16} {'tries':>5}  {'next attempt':<42} event")
        for w in waiting:
            tries, next_attempt = w.attempts, next_attempt_text(w, now)
            print(f"{w.entry.id:>8}  {w.entry.consumer:<16} {tries:>5}  {next_attempt:<42} {_what(w.entry)}")
    else:
        print(f"nothing waits in the retry tier{for_consumer}")
    if entries:
        print(f"DLQ{for_consumer}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    else:
        print(f"the DLQ is empty{for_consumer}")
    for entry in entries:
        print(f"{entry.id:>8}  {entry.consumer:<16} deliveries={entry.pointer.deliveries:<3} {_what(entry)}")
    print(f"{len(waiting)} waiting in the retry tier ({due} due now), {len(entries)} in the DLQ")
    return 0


def _what(entry: DeadLetter) -> str:
    return f"{entry.event.type} {entry.event.id}" if entry.event else f"({entry.problem})"


def next_attempt_text(waiting: ParkedRetry, now: datetime) -> str:
    if waiting.due_now:
        return "due now" if waiting.state != "waiting" else "due now (not delivered yet)"
    if waiting.state == "in_flight":
        return "in progress (or after the ack wait)"
    if waiting.next_attempt_at is None:
        return "unknown (tier not in this topology)"
    return when(waiting.next_attempt_at, now)


@operator_command("dlq show")
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
        print(f"  {attempt_line(attempt)}")
    return 0


@operator_command("dlq redrive")
def redrive(dlq_ids: list[int], every: bool, consumer: str | None) -> int:
    deps = dependencies()
    if every:
        entries = dead_letters.dead_letters(deps, consumer)
    else:
        entries = [e for e in (dead_letters.dead_letter(deps, i) for i in dlq_ids) if e is not None]
        for dlq_id in sorted(set(dlq_ids) - {e.id for e in entries}):
            print(f"{dlq_id}: no such DLQ entry")
    failed = _run_each(deps, entries, "redriven", "kept in the DLQ")
    print(f"redriven {len(entries) - failed}, still in the DLQ {failed}")
    return 1 if failed else 0


@operator_command("dlq retry-now")
def retry_now(seqs: list[int], every: bool, consumer: str | None) -> int:
    """Runs parked retries now, in this process, through their consumer's handler; on success the
    pointer leaves the retry stream, so its bridge does not run it again (and if it raced us, the
    consumer's idempotency record makes its run a no-op)."""
    deps = dependencies()
    if every:
        in_dlq = dead_letters.dead_letters(deps, consumer)
        entries = [w.entry for w in dead_letters.parked_retries(deps, completed(deps), consumer, in_dlq)]
    else:
        found = {seq: dead_letters.parked_retry(deps, seq) for seq in seqs}
        entries = [
            e for e in found.values() if e is not None and (consumer is None or e.consumer == consumer)
        ]
        for seq in sorted(set(seqs) - {e.id for e in entries}):
            print(f"{seq}: no such pointer on the retry tier" + (f" for {consumer}" if consumer else ""))
    if not entries:
        print("nothing waits in the retry tier" + (f" for {consumer}" if consumer else ""))
    failed = _run_each(deps, entries, "ran now", "kept on the retry tier")
    print(f"ran {len(entries) - failed}, still on the retry tier {failed}")
    return 1 if failed or len(entries) < len(seqs) else 0


def _run_each(deps: Dependencies, entries: list[DeadLetter], done: str, kept: str) -> int:
    failed = 0
    for number, entry in enumerate(entries, start=1):
        try:
            dead_letters.redrive(deps, entry, run_through_consumer)
            print(f"[{number}/{len(entries)}] {entry.id}: {done} through {entry.consumer}", flush=True)
        except RedriveFailed as error:
            failed += 1
            print(f"[{number}/{len(entries)}] {entry.id}: still failing, {kept}: {error}", flush=True)
    return failed


@operator_command("dlq discard")
def discard(dlq_id: int) -> int:
    if dead_letters.discard(dependencies(), dlq_id):
        print(f"{dlq_id}: discarded")
        return 0
    print(f"no DLQ entry {dlq_id}")
    return 1
