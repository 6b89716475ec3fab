"""The event pipeline's throughput: the bridge against a raw nats-py consumer, and the outbox relay
against its floor by hand (pymongo + raw nats-py publishing), each baseline measured on the same
server in the same run.

Starts nats-server, nx-27017 and moto_server in a temporary directory and migrates a fresh database.

Part 1, the bridge. Publishes `--events` valid event envelopes (`org.updated`) to the `events` stream,
then for each (batch size, concurrency) pair creates two fresh durable consumers on those messages,
declared like a business consumer's main tier (`tier_config`: explicit ack, max ack pending 1000):
  raw     `concurrency` loops of `fetch(batch)` + `msg.ack()` on one connection until every message
          is acked;
  bridge  `Bridge(tier, url, target=noop, concurrency=...)`, the handler returning no failures
          without reading the event, until `counters.processed` reaches `--events`.
Both are timed from connecting to the last ack, back to back, `--rounds` times per pair (medians;
the ratio is the median of each round's bridge/raw). CPU is this process's CPU time per message,
which a busy machine disturbs less than the rates. The bridge's per-message JSON log lines are still
built and written; only the stream of the runtime logger's handler is /dev/null.

Part 2, the outbox relay, per batch size. Four runs of `--relay-events` events each, on the same
server: `raw` = a `publish_async` loop (+ waiting for every ack) of fresh envelopes; then, each on an
outbox freshly written as `Outbox.add` writes it (bulk `insert_many` of the same documents;
`Outbox.add` itself is timed on the first 1,000) and emptied of the run's documents afterwards
(untimed), `old floor` and `new floor` = the relay's work by hand: pymongo reads the pending batch
(`Outbox.pending`'s query, sort and index, leaving out the batch in flight), publishes the stored
envelopes with `publish_async`, and marks the acknowledged batch with one write, overlapped (batch N
is published while a thread marks batch N-1 and reads batch N+1); the old floor marks with
`Outbox.mark_sent`'s `update_many`, the new one with a `delete_many` of the batch. Then `relay` =
`OutboxRelay` until every event is marked sent, its time in the store (reads + marks) measured
through the outbox it calls. The ratio is relay / old floor.

    .venv/bin/python bench/pipeline.py [--events 50000] [--batches 10,100,256] [--concurrency 1,2,4]
                                       [--rounds 3] [--relay-events 20000] [--relay-batches 100,500,2000]

Exits 0 whatever the ratios (it is a benchmark); a failing setup or a lost message is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import json
import logging
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from plutomi.adapters.clock import SystemClock
from plutomi.adapters.jetstream import tier_config
from plutomi.adapters.mongo_outbox import OUTBOX_TYPE, PENDING, Outbox
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain import events
from plutomi.domain.events import Event, subject_for
from plutomi.observability import lines_to_devnull, runtime_logger
from plutomi.runtime import embedded
from plutomi.runtime.bridge import Bridge
from plutomi.runtime.dev import export_with_fresh_database
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.relay import OutboxRelay
from plutomi.topology import Consumer, Tier, tiers_of

if TYPE_CHECKING:
    from pymongo.collection import Collection

PROGRESS_EVERY = 10_000
TARGET_RATIO = 0.8
BRIDGE_EVENT = events.ORG_UPDATED
RELAY_EVENT = events.APPLICATION_UPDATED
RELAY_DEFAULT_BATCH: int = inspect.signature(OutboxRelay).parameters["batch_size"].default


def say(text: str) -> None:
    print(text, flush=True)


def make_events(count: int, event_type: str, clock: SystemClock) -> list[Event]:
    """Envelopes shaped like `Dependencies.event` builds them, with a realistic small payload."""
    org_id = f"bench-{uuid.uuid4().hex[:10]}"
    return [
        Event(
            id=clock.new_id("evt"),
            type=event_type,
            org_id=org_id,
            occurred_at=clock.now(),
            data={"org_id": org_id, "display_name": f"Bench Org {n}", "by": clock.new_id("usr")},
        )
        for n in range(count)
    ]


class Progress:
    """Prints ` 10k 20k ...` on the current line each time another `every` items are done."""

    def __init__(self, label: str, total: int, every: int = PROGRESS_EVERY) -> None:
        self.total = total
        self.every = every
        self.next_mark = every
        print(f"    {label:<22}", end="", flush=True)

    def update(self, done: int) -> None:
        while done >= self.next_mark and self.next_mark <= self.total:
            print(f" {self.next_mark // 1000}k", end="", flush=True)
            self.next_mark += self.every

    def done(self, result: str) -> None:
        say(f"  -> {result}")


@dataclass(frozen=True)
class Run:
    """`count` messages in `seconds` of wall time and `cpu_seconds` of this process's CPU time."""

    count: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds / self.count * 1e6

    def __str__(self) -> str:
        return f"{self.rate:>7,.0f} msgs/s, {self.cpu_us:5.1f} us CPU/msg"


class Clock:
    """Wall and CPU time since it was made."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def run(self, count: int) -> Run:
        return Run(count, time.perf_counter() - self.wall, time.process_time() - self.cpu)


async def publish_all(jetstream: JetStreamContext, items: Sequence[Event], label: str) -> Run:
    """`publish_async` of pre-encoded envelopes, then waits for every ack."""
    payloads = [(e.subject, e.model_dump_json().encode(), e.id) for e in items]
    progress = Progress(label, len(payloads))
    clock = Clock()
    futures = []
    for n, (subject, payload, event_id) in enumerate(payloads, start=1):
        futures.append(await jetstream.publish_async(subject, payload, headers={"Nats-Msg-Id": event_id}))
        progress.update(n)
    acks = await asyncio.gather(*futures)
    run = clock.run(len(payloads))
    duplicates = sum(1 for ack in acks if ack.duplicate)
    if duplicates:
        raise RuntimeError(f"{duplicates} publishes were deduplicated: the event ids are not unique")
    progress.done(str(run))
    return run


# ---------------------------------------------------------------------------------------- bridge


@dataclass
class Config:
    batch: int
    concurrency: int
    raw: list[Run] = field(default_factory=list)
    bridge: list[Run] = field(default_factory=list)

    @property
    def is_default(self) -> bool:
        return (self.batch, self.concurrency) == (Consumer.batch_size, 1)

    def median(self, runs: list[Run], value: Callable[[Run], float]) -> float:
        return statistics.median(value(run) for run in runs)

    @property
    def ratio(self) -> float:
        """The median of each round's bridge/raw ratio (the two were measured back to back)."""
        return statistics.median(b.rate / r.rate for r, b in zip(self.raw, self.bridge, strict=True))


def noop(event: dict[str, Any]) -> dict[str, Any]:
    """The handler: reads nothing, fails nothing. What is left is the bridge's own cost."""
    return {"batchItemFailures": []}


def bench_tier(batch: int, kind: str) -> Tier:
    consumer = Consumer(f"bench-{kind}-{uuid.uuid4().hex[:8]}", "unused", (BRIDGE_EVENT,), batch_size=batch)
    return dataclasses.replace(tiers_of(consumer)[0], function=None)


async def declare(url: str, tier: Tier, remove: bool = False) -> None:
    connection = await nats.connect(url)
    try:
        jetstream = connection.jetstream()
        if remove:
            await jetstream.delete_consumer(tier.stream, tier.durable)
        else:
            await jetstream.add_consumer(tier.stream, tier_config(tier))
    finally:
        await connection.close()


async def raw_consume(url: str, tier: Tier, concurrency: int, total: int) -> Run:
    """`concurrency` plain fetch-and-ack loops on one connection, timed from connecting to the last ack."""
    progress = Progress(f"raw    b={tier.batch_size} c={concurrency}", total)
    clock = Clock()
    connection = await nats.connect(url)
    finished: asyncio.Future[Run] = asyncio.get_running_loop().create_future()
    acked = 0
    try:
        jetstream = connection.jetstream()

        async def loop() -> None:
            nonlocal acked
            subscription = await jetstream.pull_subscribe_bind(durable=tier.durable, stream=tier.stream)
            while acked < total:
                try:
                    batch = await subscription.fetch(tier.batch_size, timeout=1.0)
                except (TimeoutError, NatsTimeoutError):
                    continue
                for msg in batch:
                    await msg.ack()
                acked += len(batch)
                progress.update(acked)
                if acked >= total and not finished.done():
                    finished.set_result(clock.run(total))

        workers = [asyncio.create_task(loop()) for _ in range(concurrency)]
        run = await finished
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await connection.flush()
    finally:
        await connection.close()
    if acked != total:
        raise RuntimeError(f"the raw consumer acked {acked} messages, expected {total}")
    progress.done(str(run))
    return run


async def bridge_consume(url: str, tier: Tier, concurrency: int, total: int) -> Run:
    """A real `Bridge` with the no-op handler, timed from `run()` until it has processed `total`."""
    progress = Progress(f"bridge b={tier.batch_size} c={concurrency}", total)
    bridge = Bridge(tier, url, target=noop, concurrency=concurrency)
    clock = Clock()
    running = asyncio.create_task(bridge.run())
    while bridge.counters.processed < total:
        if running.done():
            running.result()
            raise RuntimeError("the bridge stopped before processing every message")
        await asyncio.sleep(0.002)
        progress.update(bridge.counters.processed)
    run = clock.run(total)
    bridge.stop()
    await running
    counters = bridge.counters
    if counters.processed != total or counters.failed or counters.dead_lettered:
        raise RuntimeError(f"bridge counters {counters}, expected {total} processed and nothing else")
    progress.done(str(run))
    return run


async def bridge_round(url: str, config: Config, total: int) -> None:
    """One raw run and one bridge run, back to back, each on a fresh durable over the same messages."""
    raw_tier, bridge_tier = bench_tier(config.batch, "raw"), bench_tier(config.batch, "bridge")
    for tier in (raw_tier, bridge_tier):
        await declare(url, tier)
    try:
        config.raw.append(await raw_consume(url, raw_tier, config.concurrency, total))
        config.bridge.append(await bridge_consume(url, bridge_tier, config.concurrency, total))
    finally:
        for tier in (raw_tier, bridge_tier):
            await declare(url, tier, remove=True)


async def bench_bridge(
    url: str, total: int, batches: list[int], concurrencies: list[int], rounds: int
) -> None:
    say(f"\npart 1: bridge -> no-op handler -> ack, {total:,} events, against raw fetch + ack")
    connection = await nats.connect(url)
    try:
        say(f"  publishing {total:,} {BRIDGE_EVENT} envelopes to the events stream")
        await publish_all(
            connection.jetstream(), make_events(total, BRIDGE_EVENT, SystemClock()), "publish_async"
        )
    finally:
        await connection.close()

    configs = [Config(batch, concurrency) for batch in batches for concurrency in concurrencies]
    for round_number in range(1, rounds + 1):
        for config in configs:
            say(f"  round {round_number}/{rounds}: batch {config.batch}, concurrency {config.concurrency}")
            await bridge_round(url, config, total)

    say(f"\n  medians of {rounds} round(s); ratio = median of each round's bridge/raw; CPU = this process")
    say(
        f"  {'batch':>5} {'conc':>4} {'raw msgs/s':>11} {'bridge msgs/s':>14} {'ratio':>6}  "
        f"{'CPU us/msg raw':>15} {'bridge':>7}"
    )
    for config in configs:
        raw_rate = config.median(config.raw, lambda run: run.rate)
        bridge_rate = config.median(config.bridge, lambda run: run.rate)
        raw_cpu = config.median(config.raw, lambda run: run.cpu_us)
        bridge_cpu = config.median(config.bridge, lambda run: run.cpu_us)
        verdict = "PASS" if config.ratio >= TARGET_RATIO else f"under {TARGET_RATIO}"
        default = "  (the default)" if config.is_default else ""
        say(
            f"  {config.batch:>5} {config.concurrency:>4} {raw_rate:>11,.0f} {bridge_rate:>14,.0f} "
            f"{config.ratio:>6.2f}  {raw_cpu:>15.1f} {bridge_cpu:>7.1f}  {verdict}{default}"
        )
    best = max(configs, key=lambda c: c.median(c.bridge, lambda run: run.rate))
    say(
        f"  fastest bridge: batch {best.batch}, concurrency {best.concurrency}: "
        f"{best.median(best.bridge, lambda run: run.rate):,.0f} msgs/s, ratio {best.ratio:.2f}"
    )


# ---------------------------------------------------------------------------------------- relay


class TimedOutbox(Outbox):
    """The real outbox, with the time the relay spends in it and how many events it marked sent."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(outbox._collection)
        self.read_seconds = 0.0
        self.mark_seconds = 0.0
        self.marked = 0

    def pending(self, limit: int, excluding: Sequence[str] = ()) -> list[Event]:
        started = time.perf_counter()
        try:
            return super().pending(limit, excluding)
        finally:
            self.read_seconds += time.perf_counter() - started

    def mark_sent(self, event_ids: list[str], now: datetime) -> None:
        started = time.perf_counter()
        super().mark_sent(event_ids, now)
        self.mark_seconds += time.perf_counter() - started
        self.marked += len(event_ids)


class _Recorder:
    """Stands in for the collection so that `Outbox.add` hands over the document it would insert."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    def insert_one(self, document: dict[str, Any]) -> None:
        self.documents.append(document)


def outbox_documents(items: Sequence[Event]) -> list[dict[str, Any]]:
    """Exactly the documents `Outbox.add` inserts for `items` (built by it, not copied from it)."""
    recorder = _Recorder()
    outbox = Outbox(cast("Collection[dict[str, Any]]", recorder))
    for event in items:
        outbox.add(event)
    return recorder.documents


def fill_outbox(store: MongoStore, items: list[Event], sample: int) -> None:
    """`Outbox.add` for the first `sample` events (timed), then `insert_many` of the same documents."""
    progress = Progress("write the outbox", len(items))
    clock = Clock()
    for n, event in enumerate(items[:sample], start=1):
        store.outbox.add(event)
        progress.update(n)
    added = clock.run(sample) if sample else None
    clock = Clock()
    for start in range(sample, len(items), 1000):
        chunk = items[start : start + 1000]
        store.items.insert_many(outbox_documents(chunk), ordered=False)
        progress.update(start + len(chunk))
    inserted = clock.run(len(items) - sample) if len(items) > sample else None
    progress.done(
        f"Outbox.add {added.rate if added else 0:,.0f}/s ({sample:,}), "
        f"insert_many {inserted.rate if inserted else 0:,.0f}/s ({len(items) - sample:,})"
    )


def forget(store: MongoStore, items: Sequence[Event]) -> None:
    """Deletes a run's outbox documents (untimed), so that every run starts from the same collection."""
    ids = [event.id for event in items]
    for start in range(0, len(ids), 1000):
        store.items.delete_many({"_id": {"$in": ids[start : start + 1000]}})


# How a floor marks a batch sent: the relay's own write (`Outbox.mark_sent`'s, by hand) and the
# cheapest write on nx-27017 that takes a batch out of the pending index (deleting it: one SQL
# DELETE, where an update rewrites each document and every index on it).
Marker = Callable[["Collection[dict[str, Any]]", list[str]], object]
MARKERS: dict[str, Marker] = {
    "update_many": lambda items, ids: items.update_many(
        {"_id": {"$in": ids}, "type": {"$eq": OUTBOX_TYPE}},
        {"$unset": {"pending_since_ms": ""}, "$set": {"sent_at": datetime.now(UTC).isoformat()}},
    ),
    "delete_many": lambda items, ids: items.delete_many({"_id": {"$in": ids}, "type": {"$eq": OUTBOX_TYPE}}),
}


@dataclass
class FloorTimes:
    read_seconds: float = 0.0
    mark_seconds: float = 0.0


async def floor_run(
    store: MongoStore, url: str, total: int, batch: int, marker: str
) -> tuple[Run, FloorTimes]:
    """The relay's floor by hand: pymongo reads the pending batch (`Outbox.pending`'s query, sort and
    index, leaving out the batch in flight) and marks it with one write; nats-py `publish_async`es
    the stored envelopes and waits for their acks. Overlapped: while batch N is published, a thread
    marks batch N-1 and reads batch N+1."""
    items, mark, times = store.items, MARKERS[marker], FloorTimes()

    def mark_then_read(acked: list[str], excluding: list[str]) -> list[dict[str, Any]]:
        started = time.perf_counter()
        if acked:
            mark(items, acked)
        marked = time.perf_counter()
        query = {**PENDING, "_id": {"$nin": excluding}} if excluding else PENDING
        found = list(items.find(query).sort([("pending_since_ms", 1)]).limit(batch))
        times.mark_seconds += marked - started
        times.read_seconds += time.perf_counter() - marked
        return found

    async def publish(documents: list[dict[str, Any]]) -> list[str]:
        acks = []
        for document in documents:
            event = document["event"]
            payload = json.dumps(event, separators=(",", ":")).encode()
            acks.append(
                await jetstream.publish_async(
                    subject_for(event["type"]), payload, headers={"Nats-Msg-Id": event["id"]}
                )
            )
        await asyncio.gather(*acks)
        return [document["_id"] for document in documents]

    connection = await nats.connect(url)
    jetstream = connection.jetstream()
    progress = Progress(f"floor  b={batch} {marker}", total)
    done = 0
    try:
        clock = Clock()
        documents = await asyncio.to_thread(mark_then_read, [], [])
        acked: list[str] = []
        while documents:
            publishing = asyncio.create_task(publish(documents))
            documents_ahead = await asyncio.to_thread(
                mark_then_read, acked, [document["_id"] for document in documents]
            )
            done += len(acked)
            progress.update(done)
            acked = await publishing
            documents = documents_ahead
        await asyncio.to_thread(mark, items, acked)
        done += len(acked)
        run = clock.run(done)
    finally:
        await connection.close()
    if done != total:
        raise RuntimeError(f"the floor marked {done} events, expected {total}")
    progress.done(str(run))
    return run, times


async def relay_run(store: MongoStore, url: str, total: int, batch: int) -> tuple[Run, TimedOutbox]:
    """A real `OutboxRelay`, timed from `run()` until it has marked `total` events sent."""
    timed = TimedOutbox(store.outbox)
    store.outbox = timed
    relay = OutboxRelay(store, url, batch_size=batch)
    progress = Progress(f"relay  b={batch}", total)
    clock = Clock()
    running = asyncio.create_task(relay.run())
    try:
        while timed.marked < total:
            if running.done():
                running.result()
                raise RuntimeError("the relay stopped before publishing every event")
            await asyncio.sleep(0.002)
            progress.update(timed.marked)
        run = clock.run(total)
    finally:
        relay.stop()
        await running
    if relay.counters.failed or relay.counters.published != total:
        raise RuntimeError(f"relay counters {relay.counters}, expected {total} published and none failed")
    progress.done(str(run))
    return run, timed


Outcome = TypeVar("Outcome")


def count_pending(store: MongoStore) -> int:
    """Events waiting for the relay, found through the `outbox_pending` index and counted here (the
    store has no whole count: nx-27017 answers `count_documents` by reading the whole collection)."""
    return sum(1 for _ in store.items.find(PENDING, {"_id": 1}))


async def drained(store: MongoStore, total: int, run: Awaitable[Outcome]) -> Outcome:
    """Awaits `run` on an outbox holding `total` fresh events, checking it leaves none pending."""
    items = make_events(total, RELAY_EVENT, SystemClock())
    fill_outbox(store, items, sample=min(1000, total))
    pending = await asyncio.to_thread(count_pending, store)
    if pending != total:
        raise RuntimeError(f"{pending} events pending in the outbox, expected {total}")
    result = await run
    pending = await asyncio.to_thread(count_pending, store)
    if pending:
        raise RuntimeError(f"{pending} events still pending after the run")
    await asyncio.to_thread(forget, store, items)
    return result


@dataclass
class RelayRow:
    batch: int
    raw: Run
    floor: Run
    floor_times: FloorTimes
    new_floor: Run
    new_floor_times: FloorTimes
    relay: Run
    timed: TimedOutbox


async def bench_relay(store: MongoStore, url: str, total: int, batches: list[int]) -> None:
    say(
        f"\npart 2: outbox relay, {total:,} events, against its floor by hand (pymongo read + mark,"
        " overlapped with raw publish_async) and raw publish_async alone"
    )
    rows = []
    for batch in batches:
        say(f"  relay batch size {batch}")
        connection = await nats.connect(url)
        try:
            raw = await publish_all(
                connection.jetstream(), make_events(total, RELAY_EVENT, SystemClock()), "raw publish_async"
            )
        finally:
            await connection.close()
        floor, floor_times = await drained(store, total, floor_run(store, url, total, batch, "update_many"))
        new_floor, new_floor_times = await drained(
            store, total, floor_run(store, url, total, batch, "delete_many")
        )
        relay, timed = await drained(store, total, relay_run(store, url, total, batch))
        rows.append(RelayRow(batch, raw, floor, floor_times, new_floor, new_floor_times, relay, timed))

    say(
        "\n  floor = pymongo read (Outbox.pending's query) + one write per batch, overlapped with"
        " publish_async;\n  old floor marks with update_many ($unset pending + $set sent_at, as"
        " Outbox.mark_sent), new floor with delete_many;\n  store s = time in reads + marks (the"
        " relay's through Outbox); ratio = relay / old floor"
    )
    say(
        f"  {'batch':>5} {'raw pub/s':>10} {'old floor/s':>12} {'store s':>8} {'new floor/s':>12} "
        f"{'store s':>8} {'relay/s':>8} {'store s':>8} {'CPU us':>7} {'ratio':>6}"
    )
    for row in rows:
        ratio = row.relay.rate / row.floor.rate
        verdict = "PASS" if ratio >= TARGET_RATIO else f"under {TARGET_RATIO}"
        default = "  (the default)" if row.batch == RELAY_DEFAULT_BATCH else ""
        say(
            f"  {row.batch:>5} {row.raw.rate:>10,.0f} {row.floor.rate:>12,.0f} "
            f"{row.floor_times.read_seconds + row.floor_times.mark_seconds:>8.1f} "
            f"{row.new_floor.rate:>12,.0f} "
            f"{row.new_floor_times.read_seconds + row.new_floor_times.mark_seconds:>8.1f} "
            f"{row.relay.rate:>8,.0f} {row.timed.read_seconds + row.timed.mark_seconds:>8.1f} "
            f"{row.relay.cpu_us:>7.1f} {ratio:>6.2f}  {verdict}{default}"
        )


# ---------------------------------------------------------------------------------------- main


def int_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000, help="events through the bridge per trial")
    parser.add_argument("--batches", type=int_list, default=[Consumer.batch_size, 100, 256])
    parser.add_argument("--concurrency", type=int_list, default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=3, help="raw + bridge rounds per configuration")
    parser.add_argument("--relay-events", type=int, default=20_000)
    parser.add_argument("--relay-batches", type=int_list, default=[100, 500, 2000])
    parser.add_argument("--skip-bridge", action="store_true")
    parser.add_argument("--skip-relay", action="store_true")
    args = parser.parse_args()

    from plutomi.config import get_settings

    embedded.logger.setLevel(logging.WARNING)  # no "started nats" / "stopping nats" lines
    say(
        f"pipeline: python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-pipeline-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            say("starting nats-server, nx-27017 and moto_server; migrating ...")
            export_with_fresh_database(services, "bench")
            settings = get_settings()
            with lines_to_devnull(runtime_logger):
                if not args.skip_bridge:
                    asyncio.run(
                        bench_bridge(
                            settings.nats_url, args.events, args.batches, args.concurrency, args.rounds
                        )
                    )
                if not args.skip_relay:
                    store = MongoStore.connect(settings.mongodb_url, settings.mongodb_database)
                    try:
                        asyncio.run(
                            bench_relay(store, settings.nats_url, args.relay_events, args.relay_batches)
                        )
                    finally:
                        store.client.close()
        finally:
            services.stop()
    say(f"done; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
