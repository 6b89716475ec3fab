"""The idle sweeper: does its cost follow the number of applicants due, not the number stored?

Two fresh databases on one nx-27017 (started here with nats-server and moto_server, on free ports):

- baseline: an application whose first stage moves people to the second after 1 day idle, and
  `--due` applicants (10,000) whose deadline has passed;
- loaded: the same, plus `--not-due` applicants (500,000) in the same stage whose deadline is still
  ahead (spread over the next day), interleaved with the due ones as they were seeded.

In each, `sweep_idle(deps)` runs against a FixedClock and must move exactly `--due` applicants; each
move is the real one: read, conditional replace, and an `applicant.moved` event acknowledged by
JetStream. `--rounds` alternates baseline and loaded sweeps (the due applicants are put back between
rounds), so a burst of load on a shared machine hits both alike; the medians give the ratio, and the
target is at most 1.5x. Documents are seeded with raw `insert_many` batches in the shape
`Applicants.create` writes; the seeding rate is printed too.

    .venv/bin/python bench/sweeper.py [--due 10000] [--not-due 500000] [--rounds 3] [--target 1.5]

Exits 1 if a sweep does not move exactly the applicants due (a broken bench, not a slow one).
"""

from __future__ import annotations

import argparse
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

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_base import Document, to_document, where
from plutomi.adapters.mongo_pipeline import Applicants
from plutomi.adapters.mongo_store import MongoStore
from plutomi.adapters.nats_publisher import NatsEventPublisher
from plutomi.config import get_settings
from plutomi.domain.applicants import Applicant, Mover, StageVisit
from plutomi.domain.identity import hash_secret
from plutomi.domain.ids import format_id
from plutomi.domain.models import Session, User
from plutomi.domain.pipeline import ApplicationStatus, IdleRule
from plutomi.runtime.dev import export_endpoints
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.migrate import migrate
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


def applicant_document(pipeline: Pipeline, number: int, entered_at: datetime) -> Document:
    """One applicant waiting in the first stage since `entered_at`, as `Applicants.create` stores it."""
    applicant_id = format_id("apl", int(entered_at.timestamp() * 1000), os.urandom(10))
    email = f"applicant-{number}@example.com"
    applicant = Applicant(
        id=applicant_id,
        org_id=pipeline.org_id,
        application_id=pipeline.application_id,
        email=email,
        first_name="Pat",
        last_name=f"Applicant {number}",
        created_at=entered_at,
        updated_at=entered_at,
        stage_id=pipeline.first_stage_id,
        stage_entered_at=entered_at,
        history=[
            StageVisit(
                stage_id=pipeline.first_stage_id, entered_at=entered_at, entered_by=Mover(kind="applicant")
            )
        ],
        idle_deadline=entered_at + IDLE,
        idle_rule_id=pipeline.rule_id,
    )
    return to_document(
        applicant,
        unique_key=Applicants.email_key(pipeline.application_id, email),
        sort_key=applicant.id,
    )


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
        document = applicant_document(database.pipeline, number, entered_at)
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


def put_back_due(database: Database) -> None:
    """Undoes a sweep: the moved applicants are replaced by their documents as first seeded."""
    pipeline = database.pipeline
    items = database.deps.store.items
    removed = items.delete_many(
        where(
            type=Applicant.TYPE,
            org_id=pipeline.org_id,
            application_id=pipeline.application_id,
            stage_id=pipeline.second_stage_id,
        )
    ).deleted_count
    if removed != len(database.due_documents):
        raise SystemExit(
            f"{database.name}: expected to put back {len(database.due_documents)}, found {removed}"
        )
    for start in range(0, len(database.due_documents), 5_000):
        items.insert_many(database.due_documents[start : start + 5_000], ordered=False)


def due_query(now: datetime, limit: int) -> tuple[Document, list[tuple[str, int]], int]:
    """The query `Applicants.due_for_idle_move` makes."""
    return {"idle_deadline": {"$lte": now}}, [("idle_deadline", 1)], limit


def print_plan(database: Database, sweep_batch: int) -> None:
    query, sort, limit = due_query(database.deps.clock.now(), sweep_batch)
    plan: dict[str, Any] = database.deps.store.items.find(query).sort(sort).limit(limit).explain()
    winning = plan.get("queryPlanner", {}).get("winningPlan")
    print(f"  query plan ({database.name}, {database.stored:,} applicants): find({query}).sort({sort})")
    print(f"    winningPlan: {json.dumps(winning, default=str)}", flush=True)


def sweep(database: Database, due: int, sweep_batch: int) -> float:
    started = time.perf_counter()
    result = sweep_idle(database.deps, sweep_batch)
    elapsed = time.perf_counter() - started
    if result.moved != due or result.due != due or result.skipped != 0:
        raise SystemExit(f"{database.name}: the sweep should have moved {due:,}, it reported {result}")
    pipeline = database.pipeline
    moved = database.deps.store.applicants.count_in_stage(
        pipeline.org_id, pipeline.application_id, pipeline.second_stage_id
    )
    if moved != due:
        raise SystemExit(f"{database.name}: {moved:,} applicants in the second stage, expected {due:,}")
    return elapsed


def open_database(base: Dependencies, label: str) -> Database:
    """A fresh database, migrated, sharing the clock and the NATS publisher of `base`."""
    name = f"plutomi_bench_sweeper_{label}_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(base.settings, mongodb_database=name)
    migrate(settings, say=lambda _: None)
    store = MongoStore.connect(settings.mongodb_url, name)
    deps = dataclasses.replace(base, store=store, settings=settings)
    return Database(name=label, deps=deps, pipeline=create_pipeline(deps, label), due_documents=[], stored=0)


def close_events(deps: Dependencies) -> None:
    """Closes the publisher's NATS connection before nats-server stops, so it does not keep
    reconnecting (and logging) until the process exits."""
    publisher = deps.events
    if isinstance(publisher, NatsEventPublisher) and publisher._connection is not None:
        publisher._loop.run(publisher._connection.close(), timeout=5)


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
    args = parser.parse_args()

    print(
        f"idle sweeper: {args.due:,} due, alone and beside {args.not_due:,} not due; {args.rounds} rounds; "
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    baseline_times: list[float] = []
    loaded_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-sweeper-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server; migrating ...", flush=True)
            export_endpoints(services)
            os.environ["MONGODB_DATABASE"] = f"plutomi_bench_sweeper_{uuid.uuid4().hex[:8]}"
            bootstrap.override(clock=clock)
            migrate(get_settings(), say=lambda _: None)
            base = bootstrap.dependencies()
            baseline = open_database(base, "baseline")
            loaded = open_database(base, "loaded")
            seed(baseline, args.due, 0, args.insert_batch)
            seed(loaded, args.due, args.not_due, args.insert_batch)
            print_plan(baseline, args.sweep_batch)
            print_plan(loaded, args.sweep_batch)
            for round_number in range(1, args.rounds + 1):
                if round_number > 1:
                    put_back_due(baseline)
                    put_back_due(loaded)
                baseline_times.append(sweep(baseline, args.due, args.sweep_batch))
                loaded_times.append(sweep(loaded, args.due, args.sweep_batch))
                print(
                    f"  round {round_number}: baseline {baseline_times[-1]:6.2f} s "
                    f"({args.due / baseline_times[-1]:,.0f} moves/s)   loaded {loaded_times[-1]:6.2f} s "
                    f"({args.due / loaded_times[-1]:,.0f} moves/s)   "
                    f"ratio {loaded_times[-1] / baseline_times[-1]:.2f}x",
                    flush=True,
                )
            for database in (baseline, loaded):
                database.deps.store.client.close()
            base.store.client.close()
            close_events(base)
        finally:
            bootstrap.reset()
            services.stop()

    baseline_s = statistics.median(baseline_times)
    loaded_s = statistics.median(loaded_times)
    ratio = loaded_s / baseline_s
    verdict = "PASS" if ratio <= args.target else f"OVER {args.target:g}x"
    print(f"\nmedians of {args.rounds} rounds, each sweeping {args.due:,} applicants due:")
    for label, stored, seconds in (
        ("baseline", args.due, baseline_s),
        ("loaded", args.due + args.not_due, loaded_s),
    ):
        print(f"  {label:<8} ({stored:>9,} stored)  {seconds:7.2f} s  {args.due / seconds:8,.0f} moves/s")
    print(f"  ratio loaded / baseline: {ratio:.2f}x  (target <= {args.target:g}x)  {verdict}")
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
