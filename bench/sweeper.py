"""The idle sweeper: does its cost follow the number of applicants due, not the number stored?

Two fresh databases on one nx-27017 (started here with nats-server and moto_server, on free ports):

- baseline: an application whose first stage moves people to the second after 1 day idle, and
  `--due` applicants (10,000) whose deadline has passed;
- loaded: the same, plus `--not-due` applicants (500,000) in the same stage whose deadline is still
  ahead (within the next day), interleaved with the due ones as they are seeded.

In each, `sweep_idle(deps)` runs against a FixedClock and must move exactly `--due` applicants; each
move is the real one: read, conditional replace, and its `applicant.moved` event written to the
outbox by `deps.emit`. Then the outbox relay publishes those events to JetStream, timed apart (in
production the relay runs beside the sweeper, not in it; `--no-relay` skips it). `--rounds`
alternates baseline and loaded (the due applicants are put back between rounds), so a burst of load
on a shared machine hits both alike; the medians give the ratio, and the target for the sweep is at
most 1.5x. The query plan of the sweeper's query is printed for each database. Documents are seeded
with raw `insert_many` batches in the shape `Applicants.create` writes; the seeding rate is printed.

    .venv/bin/python bench/sweeper.py [--due 10000] [--not-due 500000] [--rounds 3] [--target 1.5]
                                      [--no-relay] [--date-filter]

`--date-filter` sweeps with the filter the store used before `idle_deadline_ms` (on the
`idle_deadline` date), to compare: see bench/RESULTS.md.

Exits 1 if a sweep does not move exactly the applicants due or write their events, or the relay does
not publish them (a broken bench, not a slow one).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from seeding import waiting_applicant

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_base import Document, where
from plutomi.adapters.mongo_outbox import OUTBOX_TYPE
from plutomi.adapters.mongo_pipeline import Applicants
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain import events
from plutomi.domain.applicants import Applicant
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.identity import hash_secret
from plutomi.domain.models import Session, User
from plutomi.domain.pipeline import ApplicationStatus, IdleRule
from plutomi.observability import logger, runtime_logger
from plutomi.runtime.dev import export_with_fresh_database
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.migrate import migrate
from plutomi.runtime.relay import OutboxRelay
from plutomi.services import applications, orgs
from plutomi.services.applicants import sweep_idle
from plutomi.services.auth import Principal
from plutomi.services.ports import Dependencies

IDLE = timedelta(days=1)
PROGRESS_EVERY = 50_000


@dataclass(frozen=True)
class Pipeline:
    """An org with an application of two stages; the first moves idle people to the second."""

    org_id: str
    application_id: str
    first_stage_id: str
    second_stage_id: str
    rule_id: str


@dataclass
class Database:
    name: str
    deps: Dependencies
    pipeline: Pipeline
    due_documents: list[Document]
    stored: int


def create_pipeline(deps: Dependencies, label: str) -> Pipeline:
    """Through the service layer, as a recruiter would: org, application, two stages, the idle rule."""
    now = deps.clock.now()
    user = User(
        id=deps.clock.new_id("usr"),
        email=f"bench-{uuid.uuid4().hex[:10]}@example.com",
        email_verified_at=now,
        created_at=now,
        updated_at=now,
    )
    deps.store.users.create(user)
    session_id = deps.clock.new_id("ses")
    session = Session(
        id=session_id,
        user_id=user.id,
        secret_hash=hash_secret(deps.settings.session_secret, "session", session_id, secrets.token_urlsafe()),
        expires_at=now + timedelta(days=1),
        created_at=now,
        updated_at=now,
    )
    deps.store.sessions.create(session)
    principal = Principal(user=user, session=session)
    org_id = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    orgs.create_org(deps, principal, org_id, f"Sweeper bench ({label})")
    application_id = applications.create_application(
        deps, principal, org_id, "Drivers", "bench"
    ).application.id
    applications.create_stage(deps, principal, org_id, application_id, "Questionnaire", None)
    design = applications.create_stage(deps, principal, org_id, application_id, "Waiting list", None)
    first, second = design.stages
    rule = IdleRule(id="new", to_stage_id=second.id, after_minutes=int(IDLE.total_seconds() // 60))
    stage = applications.add_rule(deps, principal, org_id, application_id, first.id, rule, None)
    applications.update_application(deps, principal, org_id, application_id, status=ApplicationStatus.OPEN)
    return Pipeline(org_id, application_id, first.id, second.id, stage.idle_rules()[0].id)


def entered_times(now: datetime, due: int, not_due: int) -> Iterator[tuple[bool, datetime]]:
    """`due + not_due` arrival times, the due ones spread evenly among the others.

    Due: entered 1 to 8 days ago (deadline 0 to 7 days past). Not due: entered within the last day
    (deadline within the next day). Deterministic, so every run seeds the same shape."""
    total = due + not_due
    for i in range(total):
        is_due = (i * due) // total != ((i + 1) * due) // total
        fraction = ((i * 7919) % 100_003) / 100_003
        if is_due:
            yield True, now - IDLE - timedelta(minutes=1) - timedelta(days=7) * fraction
        else:
            yield False, now - IDLE * 0.999 * fraction


def seed(database: Database, due: int, not_due: int, batch_size: int) -> None:
    items = database.deps.store.items
    now = database.deps.clock.now()
    total = due + not_due
    print(f"  seeding {database.name}: {due:,} due + {not_due:,} not due ...", flush=True)
    started = time.perf_counter()
    batch: list[Document] = []
    for number, (is_due, entered_at) in enumerate(entered_times(now, due, not_due), start=1):
        pipeline = database.pipeline
        document = waiting_applicant(
            pipeline.org_id,
            pipeline.application_id,
            pipeline.first_stage_id,
            number,
            entered_at,
            idle_deadline=entered_at + IDLE,
            idle_rule_id=pipeline.rule_id,
        )
        batch.append(document)
        if is_due:
            database.due_documents.append(document)
        if len(batch) == batch_size or number == total:
            items.insert_many(batch, ordered=False)
            batch = []
        if number % PROGRESS_EVERY == 0 or number == total:
            elapsed = time.perf_counter() - started
            print(
                f"    {number:>9,} / {total:,} documents  {elapsed:7.1f} s  ({number / elapsed:,.0f}/s)",
                flush=True,
            )
    database.stored += total


def second_stage(pipeline: Pipeline) -> Document:
    """The filter `Applicants.count_in_stage` sends for the second stage."""
    return where(
        type=Applicant.TYPE,
        org_id=pipeline.org_id,
        application_id=pipeline.application_id,
        stage_id=pipeline.second_stage_id,
    )


def put_back_due(database: Database) -> None:
    """Undoes a sweep: the moved applicants are replaced by their documents as first seeded."""
    pipeline = database.pipeline
    items = database.deps.store.items
    removed = items.delete_many(second_stage(pipeline)).deleted_count
    if removed != len(database.due_documents):
        raise SystemExit(
            f"{database.name}: expected to put back {len(database.due_documents)}, found {removed}"
        )
    for start in range(0, len(database.due_documents), 5_000):
        items.insert_many(database.due_documents[start : start + 5_000], ordered=False)


def due_query(now: datetime, limit: int) -> tuple[Document, list[tuple[str, int]], int]:
    """The query `Applicants.due_for_idle_move` makes (with `--date-filter`, the one it used to make)."""
    if DATE_FILTER:
        return {"idle_deadline": {"$lte": now}}, [("idle_deadline", 1)], limit
    return {"idle_deadline_ms": {"$lte": epoch_ms(now)}}, [("idle_deadline_ms", 1)], limit


DATE_FILTER = False  # --date-filter


def due_by_date(self: Applicants, now: datetime, limit: int) -> list[Applicant]:
    """`Applicants.due_for_idle_move` as it was before it filtered on `idle_deadline_ms`: on the
    `idle_deadline` date, which nx-27017 answers by reading every document (`--date-filter`)."""
    query, sort, _ = due_query(now, limit)
    cursor = self._items.find(query).sort(sort).limit(limit)
    return [Applicant.model_validate(document) for document in cursor]


def count(database: Database, query: Document) -> int:
    """Documents matching `query`, found through an index and counted here: nx-27017 answers
    `count_documents` by reading the whole collection, whatever the filter."""
    return sum(1 for _ in database.deps.store.items.find(query, {"_id": 1}))


def moved_events(database: Database) -> int:
    """`applicant.moved` events in the outbox, sent or not."""
    return count(database, where(type=OUTBOX_TYPE, **{"event.type": events.APPLICANT_MOVED}))


def pending_events(database: Database) -> int:
    """Events the relay has not published yet (`Outbox.count_pending`'s filter, counted as above)."""
    return count(database, {"pending_since_ms": {"$gte": 0}})


def print_plan(database: Database, sweep_batch: int) -> None:
    query, sort, limit = due_query(database.deps.clock.now(), sweep_batch)
    plan: dict[str, Any] = database.deps.store.items.find(query).sort(sort).limit(limit).explain()
    winning = plan.get("queryPlanner", {}).get("winningPlan")
    print(f"  query plan ({database.name}, {database.stored:,} applicants): find({query}).sort({sort})")
    print(f"    winningPlan: {json.dumps(winning, default=str)}", flush=True)


def sweep(database: Database, due: int, sweep_batch: int) -> float:
    events_before = moved_events(database)
    started = time.perf_counter()
    result = sweep_idle(database.deps, sweep_batch)
    elapsed = time.perf_counter() - started
    if result.moved != due or result.due != due or result.skipped != 0:
        raise SystemExit(f"{database.name}: the sweep should have moved {due:,}, it reported {result}")
    pipeline = database.pipeline
    moved = count(database, second_stage(pipeline))
    if moved != due:
        raise SystemExit(f"{database.name}: {moved:,} applicants in the second stage, expected {due:,}")
    emitted = moved_events(database) - events_before
    if emitted != due:
        raise SystemExit(
            f"{database.name}: the sweep wrote {emitted:,} applicant.moved events, expected {due:,}"
        )
    return elapsed


def drain_outbox(database: Database) -> float:
    """Runs the outbox relay (as the gateway or `plutomi relay` does) until it has published every
    pending event to JetStream; returns the seconds that took."""
    expected = pending_events(database)
    relay = OutboxRelay(database.deps.store, database.deps.settings.nats_url)

    async def run() -> float:
        started = time.perf_counter()
        task = asyncio.create_task(relay.run())
        while relay.counters.published < expected and not task.done():
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        relay.stop()
        await task
        return elapsed

    elapsed = asyncio.run(run())
    pending = pending_events(database)
    if relay.counters.published != expected or relay.counters.failed or pending:
        raise SystemExit(
            f"{database.name}: the relay published {relay.counters.published:,} of {expected:,} events "
            f"({relay.counters.failed} failed, {pending:,} still pending)"
        )
    return elapsed


def open_database(base: Dependencies, label: str, relay: bool) -> Database:
    """A fresh database, migrated, sharing the clock of `base`; the pipeline's own events published."""
    name = f"plutomi_bench_sweeper_{label}_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(base.settings, mongodb_database=name)
    migrate(settings, say=lambda _: None)
    # Not `MongoStore.connect`: its client gives up on a server silent for 3 s, and a busy nx-27017 on
    # a shared machine can be (it was, reading a whole collection for `count_documents`); a longer
    # wait changes no query, and a 20-minute run is not lost to one slow moment.
    client: MongoClient[Document] = MongoClient(
        settings.mongodb_url, tz_aware=True, connectTimeoutMS=120_000, serverSelectionTimeoutMS=120_000
    )
    store = MongoStore(client, name)
    deps = dataclasses.replace(base, store=store, settings=settings)
    database = Database(label, deps, create_pipeline(deps, label), due_documents=[], stored=0)
    if relay:
        drain_outbox(database)  # the events of creating the pipeline: not part of any sweep
    return database


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--due", type=int, default=10_000, help="applicants due in each sweep")
    parser.add_argument("--not-due", type=int, default=500_000, help="applicants not due, loaded run only")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/loaded sweep pairs (median taken)")
    parser.add_argument("--insert-batch", type=int, default=5_000, help="documents per insert_many")
    parser.add_argument("--sweep-batch", type=int, default=500, help="sweep_idle's batch_size (its default)")
    parser.add_argument("--target", type=float, default=1.5, help="the loaded/baseline ratio to stay under")
    parser.add_argument(
        "--no-relay", action="store_true", help="skip publishing the sweep's events with the outbox relay"
    )
    parser.add_argument(
        "--date-filter",
        action="store_true",
        help="sweep with the former filter on the `idle_deadline` date (to compare; slow at scale)",
    )
    args = parser.parse_args()
    if args.date_filter:
        global DATE_FILTER
        DATE_FILTER = True
        Applicants.due_for_idle_move = due_by_date  # type: ignore[method-assign]
    for quiet in (logger, runtime_logger):  # the services' and the relay's start/stop lines
        quiet.setLevel("WARNING")

    print(
        f"idle sweeper: {args.due:,} due, alone and beside {args.not_due:,} not due; {args.rounds} rounds; "
        f"filter on {'the idle_deadline date (former)' if args.date_filter else 'idle_deadline_ms'}; "
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    sweeps: dict[str, list[float]] = {"baseline": [], "loaded": []}
    drains: dict[str, list[float]] = {"baseline": [], "loaded": []}
    stored: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-sweeper-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server; migrating ...", flush=True)
            bootstrap.override(clock=clock)
            export_with_fresh_database(services, "bench_sweeper")
            base = bootstrap.dependencies()
            relay = not args.no_relay
            databases = [open_database(base, "baseline", relay), open_database(base, "loaded", relay)]
            seed(databases[0], args.due, 0, args.insert_batch)
            seed(databases[1], args.due, args.not_due, args.insert_batch)
            for database in databases:
                print_plan(database, args.sweep_batch)
                stored[database.name] = database.stored
            for round_number in range(1, args.rounds + 1):
                line = f"  round {round_number}:"
                for database in databases:
                    if round_number > 1:
                        put_back_due(database)
                    swept = sweep(database, args.due, args.sweep_batch)
                    sweeps[database.name].append(swept)
                    line += f"  {database.name} sweep {swept:6.2f} s ({args.due / swept:,.0f} moves/s)"
                    if relay:
                        drains[database.name].append(drain_outbox(database))
                        line += f", relay {drains[database.name][-1]:5.2f} s"
                    line += ";"
                print(f"{line}  sweep ratio {sweeps['loaded'][-1] / sweeps['baseline'][-1]:.2f}x", flush=True)
            for database in databases:
                database.deps.store.client.close()
            base.store.client.close()
        finally:
            bootstrap.reset()
            services.stop()

    sweep_s = {name: statistics.median(times) for name, times in sweeps.items()}
    drain_s = {name: statistics.median(times) for name, times in drains.items() if times}
    ratio = sweep_s["loaded"] / sweep_s["baseline"]
    verdict = "PASS" if ratio <= args.target else f"OVER {args.target:g}x"
    print(f"\nmedians of {args.rounds} rounds, each moving {args.due:,} applicants due:")
    print(f"  {'run':<8} {'stored':>9}  {'sweep s':>8}  {'moves/s':>8}  {'relay s':>8}  {'events/s':>8}")
    for name in ("baseline", "loaded"):
        relayed = (
            f"{drain_s[name]:8.2f}  {args.due / drain_s[name]:8,.0f}"
            if name in drain_s
            else "       -         -"
        )
        timed = f"{sweep_s[name]:8.2f}  {args.due / sweep_s[name]:8,.0f}"
        print(f"  {name:<8} {stored[name]:>9,}  {timed}  {relayed}")
    print(f"  sweep ratio loaded / baseline: {ratio:.2f}x  (target <= {args.target:g}x)  {verdict}")
    if drain_s:
        print(f"  relay ratio loaded / baseline: {drain_s['loaded'] / drain_s['baseline']:.2f}x  (no target)")
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
