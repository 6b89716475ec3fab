"""Listing a stage's applicants: does a page cost the same at any depth and any stage size?

Two fresh databases on one nx-27017 (started here with nats-server and moto_server, on free ports),
each with an org, a member of it, and an application whose first stage holds `--small` (10,000)
applicants in one database and `--large` (200,000) in the other. In each, the service function
`list_applicants` (membership check, application check, one indexed page query) is timed for

- the first page (no cursor), and
- a deep page: the page after the applicant at `--depth` (80%) of the stage, with the cursor a
  client following `next_cursor` would hold there (`encode_cursor` of the last id before it;
  checked first against the cursors the service hands out),

`--repeat` (20) times each after a warm-up, the two sizes and the two pages taking turns, so a burst
of load on a shared machine hits them all alike; medians are printed. The store query alone
(`Applicants.page`) is timed the same way. The baseline is the same page at the small size: the
ratios are deep/first at each size, and large/small for each page; the target for large/small is at
most 1.5x. The query plan of each query is printed once per size. Documents are seeded with raw
`insert_many` batches in the shape `Applicants.create` writes.

    .venv/bin/python bench/list_applicants.py [--small 10000] [--large 200000] [--repeat 20]

Exits 1 if a page is not the one expected (a broken bench, not a slow one).
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seeding import waiting_applicant

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_base import Document, where
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain.applicants import Applicant
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.identity import hash_secret
from plutomi.domain.models import Session, User
from plutomi.domain.pipeline import ApplicationStatus
from plutomi.observability import logger, runtime_logger
from plutomi.runtime.dev import export_with_fresh_database
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.migrate import migrate
from plutomi.services import applications, orgs
from plutomi.services.applicants import list_applicants
from plutomi.services.auth import Principal
from plutomi.services.pagination import encode_cursor
from plutomi.services.ports import Dependencies

PAGE = 25
PROGRESS_EVERY = 50_000
KINDS = ("first", "deep", "first_store", "deep_store")


@dataclass(frozen=True)
class Fixture:
    principal: Principal
    org_id: str
    application_id: str
    stage_id: str


@dataclass
class Database:
    size: int
    deps: Dependencies
    fixture: Fixture
    ids: list[str] = field(default_factory=list)  # the stage's applicants, in list order
    samples: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def median(self, kind: str) -> float:
        return statistics.median(self.samples[kind])


def create_fixture(deps: Dependencies) -> Fixture:
    """A member of an org (their user and session in the store, the org and its membership through
    the service) and an open application with two stages."""
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
    org_id = f"bench-list-{uuid.uuid4().hex[:8]}"
    orgs.create_org(deps, principal, org_id, "Listing bench")
    application_id = applications.create_application(
        deps, principal, org_id, "Drivers", "bench"
    ).application.id
    applications.create_stage(deps, principal, org_id, application_id, "Questionnaire", None)
    design = applications.create_stage(deps, principal, org_id, application_id, "Waiting list", None)
    applications.update_application(deps, principal, org_id, application_id, status=ApplicationStatus.OPEN)
    return Fixture(principal, org_id, application_id, design.stages[0].id)


def open_database(base: Dependencies, size: int) -> Database:
    """A fresh database, migrated, sharing the clock of `base`, with the fixture in it."""
    name = f"plutomi_bench_list_{size}_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(base.settings, mongodb_database=name)
    migrate(settings, say=lambda _: None)
    deps = dataclasses.replace(base, store=MongoStore.connect(settings.mongodb_url, name), settings=settings)
    return Database(size=size, deps=deps, fixture=create_fixture(deps))


def seed(database: Database, batch_size: int) -> None:
    """Applicant k applied `size - k` seconds before now, so ids (the list's order) follow k."""
    now = database.deps.clock.now()
    size = database.size
    print(f"  seeding {size:,} applicants into one stage ...", flush=True)
    started = time.perf_counter()
    batch: list[Document] = []
    for number in range(1, size + 1):
        fixture = database.fixture
        document = waiting_applicant(
            fixture.org_id,
            fixture.application_id,
            fixture.stage_id,
            number,
            now - timedelta(seconds=size - number),
        )
        batch.append(document)
        database.ids.append(document["_id"])
        if len(batch) == batch_size or number == size:
            database.deps.store.items.insert_many(batch, ordered=False)
            batch = []
        if number % PROGRESS_EVERY == 0 or number == size:
            elapsed = time.perf_counter() - started
            print(
                f"    {number:>9,} / {size:,} documents  {elapsed:7.1f} s  ({number / elapsed:,.0f}/s)",
                flush=True,
            )


def page_query(fixture: Fixture, after: str | None) -> Document:
    """The filter `Applicants.page` sends for a stage's page."""
    query = where(
        type=Applicant.TYPE, org_id=fixture.org_id, application_id=fixture.application_id, deleted_at=None
    )
    query["stage_id"] = {"$eq": fixture.stage_id}
    query["status"] = {"$eq": ApplicantStatus.ACTIVE.value}  # the default list: active applicants
    if after is not None:
        query["sort_key"] = {"$gt": after}
    return query


def print_plans(database: Database, deep_after: str) -> None:
    for label, after in (("first page", None), ("deep page", deep_after)):
        query = page_query(database.fixture, after)
        items = database.deps.store.items
        plan: dict[str, Any] = items.find(query).sort([("sort_key", 1)]).limit(PAGE + 1).explain()
        winning = plan.get("queryPlanner", {}).get("winningPlan")
        print(f"  query plan, {label} at {database.size:,}: find({json.dumps(query)})")
        print(f"      .sort([('sort_key', 1)]).limit({PAGE + 1})")
        print(f"    winningPlan: {json.dumps(winning, default=str)}", flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"list_applicants bench: {message}")


def check_pages(database: Database, depth: int) -> None:
    """The service's own cursors are the ones the bench builds, and the deep page is the one expected."""
    deps, fix, ids = database.deps, database.fixture, database.ids
    cursor: str | None = None
    for page_number in range(3):
        page = list_applicants(
            deps, fix.principal, fix.org_id, fix.application_id, fix.stage_id, cursor, PAGE
        )
        expected = ids[page_number * PAGE : (page_number + 1) * PAGE]
        expect([a.id for a in page.applicants] == expected, f"page {page_number + 1} is not in id order")
        expect(
            page.next_cursor == encode_cursor(expected[-1]), "the service's cursor is not encode_cursor(id)"
        )
        cursor = page.next_cursor
    deep = list_applicants(
        deps, fix.principal, fix.org_id, fix.application_id, fix.stage_id, encode_cursor(ids[depth - 1]), PAGE
    )
    expect(
        [a.id for a in deep.applicants] == ids[depth : depth + PAGE], "the deep page is not the expected one"
    )
    expect(deep.next_cursor == encode_cursor(ids[depth + PAGE - 1]), "the deep page has no next cursor")


def calls(database: Database, depth_fraction: float) -> dict[str, Callable[[], object]]:
    deps, fix = database.deps, database.fixture
    depth = int(database.size * depth_fraction)
    check_pages(database, depth)
    after = database.ids[depth - 1]
    print_plans(database, after)
    cursor = encode_cursor(after)
    app, stage = fix.application_id, fix.stage_id
    return {
        "first": lambda: list_applicants(deps, fix.principal, fix.org_id, app, stage, None, PAGE),
        "deep": lambda: list_applicants(deps, fix.principal, fix.org_id, app, stage, cursor, PAGE),
        "first_store": lambda: deps.store.applicants.page(fix.org_id, app, stage, None, PAGE + 1),
        "deep_store": lambda: deps.store.applicants.page(fix.org_id, app, stage, after, PAGE + 1),
    }


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=10_000, help="applicants in the stage, baseline size")
    parser.add_argument("--large", type=int, default=200_000, help="applicants in the stage, large size")
    parser.add_argument("--depth", type=float, default=0.8, help="where the deep page starts (fraction)")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per page (median taken)")
    parser.add_argument("--insert-batch", type=int, default=5_000, help="documents per insert_many")
    parser.add_argument("--target", type=float, default=1.5, help="the large/small ratio to stay under")
    args = parser.parse_args()
    for quiet in (logger, runtime_logger):  # the services' start/stop lines
        quiet.setLevel("WARNING")

    print(
        f"listing applicants: pages of {PAGE} at {args.small:,} and {args.large:,} applicants in a stage, "
        f"{args.repeat} calls each; python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-list-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server; migrating ...", flush=True)
            bootstrap.override(clock=clock)
            export_with_fresh_database(services, "bench_list")
            base = bootstrap.dependencies()
            databases = [open_database(base, args.small), open_database(base, args.large)]
            for database in databases:
                seed(database, args.insert_batch)
            timed_calls = [(database, calls(database, args.depth)) for database in databases]
            print(
                f"  timing: {args.repeat} rounds of (first, deep) x (small, large), after a warm-up",
                flush=True,
            )
            for _ in range(2):  # warm-up: connections, caches
                for _database, by_kind in timed_calls:
                    for call in by_kind.values():
                        call()
            for _ in range(args.repeat):
                for database, by_kind in timed_calls:
                    for kind, call in by_kind.items():
                        database.samples[kind].append(timed(call))
            for database in databases:
                database.deps.store.client.close()
            base.store.client.close()
        finally:
            bootstrap.reset()
            services.stop()

    small, large = databases
    growth = large.median("deep") / small.median("deep")
    verdict = "PASS" if growth <= args.target else f"OVER {args.target:g}x"
    print(
        f"\nmedians of {args.repeat} calls of list_applicants (limit {PAGE}), in ms; store query alone in []:"
    )
    print(f"  {'applicants':>10}  {'first page':>16}  {'deep page':>16}  {'deep/first':>10}")
    for database in databases:
        print(
            f"  {database.size:>10,}  {database.median('first'):7.2f} [{database.median('first_store'):6.2f}]"
            f"  {database.median('deep'):7.2f} [{database.median('deep_store'):6.2f}]"
            f"  {database.median('deep') / database.median('first'):9.2f}x"
        )
    sizes = f"{args.large:,} / {args.small:,}"
    print(f"  {sizes}: first page {large.median('first') / small.median('first'):.2f}x")
    print(f"  {sizes}: deep page  {growth:.2f}x  (target <= {args.target:g}x)  {verdict}")
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
