"""Webhook deliveries per second through the `webhooks` consumer, with a store that has history.

One nx-27017 (started here with nats-server and moto_server, on free ports), migrated, holding what
`--applicants` applicants (1,200) leave behind: each applicant's document and, for each of its
`--events-per-applicant` events (4: created, answered, moved twice), the sent outbox event, the
webhooks consumer's completed idempotency record and the settled delivery to the org's webhook. The
documents are seeded with raw `insert_many` batches in the shapes the store writes.

Then, in `--rounds` alternating pairs, fresh `applicant.moved` events of those applicants go to a
local HTTP receiver (answering 200) in two ways:

- consumer: `functions.consumers.webhooks.handler`, called as the bridge calls it, with SQS-shaped
  batches of `--batch` records: the whole use case (idempotency claim and completion, the org check,
  the webhooks of the org, "already settled?", the attempt number, the signed POST, the delivery
  record);
- floor: the same work done by hand, the least any implementation must do: the same signed POST to the
  same receiver on a fresh connection (as the sender makes it) and the same store writes (an
  idempotency record inserted and completed, and `Deliveries.record` of the delivery).

Each run delivers `--events` events or stops after the batch that passes `--max-seconds`, so a slow
consumer still finishes in minutes; the rate is deliveries over the time taken. The ratio of the
medians is consumer / floor. Every event must reach the receiver exactly once (a broken bench exits 1).

    .venv/bin/python bench/webhook_deliveries.py [--applicants 1200] [--events-per-applicant 4]
        [--events 200] [--batch 10] [--rounds 3] [--max-seconds 20]

It uses only what the store offered before hot paths stopped counting, so the same script measures
the former code too: run it with `PYTHONPATH` naming an export of the older commit's
`layers/plutomi/python` and tree (see bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from seeding import waiting_applicant

from functions.consumers import webhooks as webhooks_consumer
from plutomi import bootstrap
from plutomi.adapters.mongo_base import Document, to_document
from plutomi.adapters.mongo_outbox import OUTBOX_TYPE
from plutomi.adapters.mongo_webhooks import Deliveries
from plutomi.domain import events
from plutomi.domain.events import Event
from plutomi.domain.models import Org
from plutomi.domain.webhooks import DELIVERED, Delivery, Webhook, delivery_headers, sign
from plutomi.observability import lines_to_devnull, logger
from plutomi.runtime import embedded
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.dev import export_with_fresh_database
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.functions import LocalContext
from plutomi.services.ports import Dependencies

SEED_EVENT_TYPES = (
    events.APPLICANT_CREATED,
    events.APPLICANT_ANSWERED,
    events.APPLICANT_MOVED,
    events.APPLICANT_MOVED,
)
INSERT_BATCH = 2_000
IDEMPOTENCY_TYPE = "idempotency"  # `mongo_idempotency.RECORD_TYPE`
CONSUMER_FUNCTION = "plutomi-consumers-webhooks"


class Receiver:
    """An HTTP server on a free local port that answers 200 and counts what each event id got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                event_id = self.headers.get("Plutomi-Event-Id") or "?"
                with receiver._lock:
                    receiver.received[event_id] = receiver.received.get(event_id, 0) + 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/plutomi"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def got(self, event_ids: list[str]) -> list[int]:
        with self._lock:
            return [self.received.get(event_id, 0) for event_id in event_ids]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Seeded:
    org_id: str
    webhook: Webhook
    applicant_ids: list[str]
    stored: int


def seed(deps: Dependencies, receiver: Receiver, applicants: int, per_applicant: int) -> Seeded:
    """An org with one webhook for every event, and `applicants` applicants' history, as stored."""
    clock, items = deps.clock, deps.store.items
    started_at = clock.now() - timedelta(days=2)
    org_id = f"bench-webhooks-{uuid.uuid4().hex[:8]}"
    org = Org(
        id=f"org_{org_id}",
        org_id=org_id,
        display_name="Webhook bench",
        created_by="usr_bench",
        created_at=started_at,
        updated_at=started_at,
    )
    deps.store.orgs.create(org)
    webhook = Webhook(
        id=clock.new_id("whk"),
        org_id=org_id,
        url=receiver.url,
        event_types=["*"],
        secret=f"whsec_{uuid.uuid4().hex}",
        created_by="usr_bench",
        created_at=started_at,
        updated_at=started_at,
    )
    deps.store.webhooks.create(webhook)
    print(f"  seeding {applicants:,} applicants x {per_applicant} events ...", flush=True)
    started = time.perf_counter()
    batch: list[Document] = []
    stored, applicant_ids = 2, []
    for number in range(applicants):
        at = started_at + timedelta(seconds=number)
        applicant_id = clock.new_id("apl")
        applicant_ids.append(applicant_id)
        batch.append(waiting_applicant(org_id, "apn_bench", "stg_bench", number, at, applicant_id))
        for event_number in range(per_applicant):
            event_type = SEED_EVENT_TYPES[event_number % len(SEED_EVENT_TYPES)]
            event = Event(
                id=clock.new_id("evt"),
                type=event_type,
                org_id=org_id,
                occurred_at=at + timedelta(milliseconds=event_number),
                data={"applicant_id": applicant_id},
            )
            batch.extend(history_of(deps, webhook, event))
        if len(batch) >= INSERT_BATCH or number == applicants - 1:
            items.insert_many(batch, ordered=False)
            stored += len(batch)
            batch = []
    elapsed = time.perf_counter() - started
    print(f"    {stored:,} documents in {elapsed:.1f} s ({stored / elapsed:,.0f}/s)", flush=True)
    return Seeded(org_id, webhook, applicant_ids, stored)


def history_of(deps: Dependencies, webhook: Webhook, event: Event) -> list[Document]:
    """What one handled event leaves: its sent outbox record, the consumer's completed idempotency
    record and the settled delivery."""
    at = event.occurred_at
    outbox = {
        "_id": event.id,
        "type": OUTBOX_TYPE,
        "org_id": event.org_id,
        "event": event.model_dump(mode="json"),
        "sent_at": at.isoformat(),
        "created_at": at,
        "updated_at": at,
    }
    delivery = delivery_of(deps, webhook, event, at)
    settled = to_document(
        delivery, sort_key=delivery.id, unique_key=Deliveries.settled_key(webhook.id, event.id)
    )
    return [outbox, idempotency_record(event, "COMPLETED", at), settled]


def idempotency_record(event: Event, status: str, at: datetime) -> Document:
    """In the shape `MongoIdempotencyStore` writes (the key's hash part stands in for Powertools')."""
    expiry = at + timedelta(hours=1)
    return {
        "_id": f"idem_{CONSUMER_FUNCTION}#{event.id}",
        "type": IDEMPOTENCY_TYPE,
        "status": status,
        "expiry": int(expiry.timestamp()),
        "expires_at": expiry,
        "in_progress_expiry": int((at + timedelta(seconds=30)).timestamp() * 1000),
        "response_data": "",
        "payload_hash": "",
        "org_id": event.org_id,
        "created_at": at,
        "updated_at": at,
    }


def delivery_of(deps: Dependencies, webhook: Webhook, event: Event, at: datetime) -> Delivery:
    return Delivery(
        id=deps.clock.new_id("dlv"),
        org_id=webhook.org_id,
        webhook_id=webhook.id,
        event_id=event.id,
        event_type=event.type,
        attempt=1,
        status_code=200,
        outcome=DELIVERED,
        latency_ms=1,
        created_at=at,
        updated_at=at,
    )


def fresh_events(deps: Dependencies, seeded: Seeded, count: int) -> list[Event]:
    people = seeded.applicant_ids
    return [
        deps.event(
            events.APPLICANT_MOVED,
            seeded.org_id,
            {
                "applicant_id": people[number % len(people)],
                "application_id": "apn_bench",
                "from_stage_id": "stg_1",
                "to_stage_id": "stg_2",
                "by": {"kind": "user", "id": "usr_bench"},
                "send_email": True,
            },
        )
        for number in range(count)
    ]


def through_consumer(events_to_send: list[Event], batch: int, max_seconds: float) -> tuple[int, float]:
    """Calls the consumer as the bridge does; returns (events handled, seconds)."""
    context: Any = LocalContext("consumers.webhooks")
    handled = 0
    started = time.perf_counter()
    for start in range(0, len(events_to_send), batch):
        records = [sqs_record(event.model_dump_json()) for event in events_to_send[start : start + batch]]
        response = webhooks_consumer.handler(sqs_event(records), context)
        if response != {"batchItemFailures": []}:
            raise SystemExit(f"the consumer failed records: {response}")
        handled += len(records)
        if time.perf_counter() - started > max_seconds:
            break
    return handled, time.perf_counter() - started


def by_hand(
    deps: Dependencies, webhook: Webhook, events_to_send: list[Event], batch: int, max_seconds: float
) -> tuple[int, float]:
    """The floor: the same signed POSTs and the same store writes, nothing else."""
    target = urlsplit(webhook.url)
    items = deps.store.items
    handled = 0
    started = time.perf_counter()
    for event in events_to_send:
        now = deps.clock.now()
        claim = idempotency_record(event, "INPROGRESS", now)
        items.insert_one(claim)
        body = event.model_dump_json().encode()
        headers = delivery_headers(event.id, event.type, sign(webhook.secret, int(now.timestamp()), body))
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        try:
            connection.request("POST", target.path, body, {**headers, "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise SystemExit(f"the receiver answered {response.status}")
        deps.store.deliveries.record(delivery_of(deps, webhook, event, deps.clock.now()))
        items.update_one({"_id": {"$eq": claim["_id"]}}, {"$set": {"status": "COMPLETED", "updated_at": now}})
        handled += 1
        if handled % batch == 0 and time.perf_counter() - started > max_seconds:
            break
    return handled, time.perf_counter() - started


def check_once(receiver: Receiver, sent: list[Event], label: str) -> None:
    got = receiver.got([event.id for event in sent])
    if got != [1] * len(sent):
        wrong = sum(1 for n in got if n != 1)
        raise SystemExit(f"{label}: {wrong} of {len(sent)} events did not reach the receiver exactly once")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applicants", type=int, default=1_200, help="applicants whose history is stored")
    parser.add_argument("--events-per-applicant", type=int, default=4, help="handled events per applicant")
    parser.add_argument("--events", type=int, default=200, help="fresh events per run, at most")
    parser.add_argument("--batch", type=int, default=10, help="records per consumer call (the bridge's)")
    parser.add_argument("--rounds", type=int, default=3, help="floor/consumer pairs (median taken)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="a run stops after this batch")
    args = parser.parse_args()
    embedded.logger.setLevel(logging.WARNING)  # no "started nats" / "stopping nats" lines

    print(
        f"webhook deliveries: {args.applicants:,} applicants x {args.events_per_applicant} events stored; "
        f"{args.rounds} rounds of up to {args.events} events (batch {args.batch}, {args.max_seconds:g} s); "
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rates: dict[str, list[float]] = {"floor": [], "consumer": []}
    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-webhooks-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server; migrating ...", flush=True)
            export_with_fresh_database(services, "bench_webhooks")
            deps = bootstrap.dependencies()
            seeded = seed(deps, receiver, args.applicants, args.events_per_applicant)
            with lines_to_devnull(logger):
                for round_number in range(1, args.rounds + 1):
                    line = f"  round {round_number}:"
                    for label in ("floor", "consumer"):
                        sent = fresh_events(deps, seeded, args.events)
                        if label == "floor":
                            done, seconds = by_hand(deps, seeded.webhook, sent, args.batch, args.max_seconds)
                        else:
                            done, seconds = through_consumer(sent, args.batch, args.max_seconds)
                        check_once(receiver, sent[:done], label)
                        rates[label].append(done / seconds)
                        line += f"  {label} {done:>4} in {seconds:6.2f} s ({done / seconds:7.1f}/s);"
                    print(f"{line}  ratio {rates['consumer'][-1] / rates['floor'][-1]:.3f}", flush=True)
        finally:
            bootstrap.close()
            services.stop()
            receiver.stop()

    floor, consumer = statistics.median(rates["floor"]), statistics.median(rates["consumer"])
    print(f"\nmedians of {args.rounds} rounds, {seeded.stored:,} documents seeded:")
    print(f"  floor (POST by hand + the same writes)  {floor:8.1f} deliveries/s")
    print(f"  webhooks consumer handler               {consumer:8.1f} deliveries/s")
    print(f"  ratio consumer / floor: {consumer / floor:.3f}")
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
