"""The pipeline board: does the page cost the same for an application of 200,000 applicants as for one
of 10,000?

Two fresh databases on one nx-27017 (started here with nats-server and moto_server, on free ports),
each with an org, a member signed in through `plutomi.services.auth`, and an open application of three
stages holding `--small` (10,000) applicants in one database and `--large` (200,000) in the other:
70% in the first stage, 20% in the second, 10% in the third, and of each stage's applicants about 90%
active, 5% rejected, 3% withdrawn and 2% accepted. Documents are seeded with raw `insert_many`
batches in the shape `Applicants.create` writes, and the stage counters with `StageCounts.replace`
(what `plutomi recount` writes) from the numbers seeded.

Timed, in this process, as the gateway calls a function: `functions.web.board.handler` with a fresh
API Gateway payload-2.0 event carrying the session cookie (`GET .../board`, oldest first; and
`?order=newest`, which walks the index backwards), and `functions.api.health.handler` (`GET /health`:
a store ping and a JetStream check), the floor. Each answer is checked (200, the first stage's count
as seeded). The handlers use `bootstrap.dependencies()`, so the sizes take turns in blocks of
`--block` (10) calls per request after a warm-up, `--rounds` (4) times; medians are printed, and the
ratio large/small (target <= 1.2x).

    .venv/bin/python bench/board.py [--small 10000] [--large 200000] [--rounds 4] [--block 10]

Exits 1 if an answer is not the one expected (a broken bench, not a slow one).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seeding import waiting_applicant

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_base import Document
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain.applicants import Place
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.pipeline import ApplicationStatus
from plutomi.entrypoints.api import SESSION_COOKIE
from plutomi.observability import logger, runtime_logger
from plutomi.runtime.aws_events import http_event
from plutomi.runtime.dev import export_with_fresh_database
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.functions import LocalContext, load_handler
from plutomi.runtime.migrate import migrate
from plutomi.services import applications, auth, orgs

PROGRESS_EVERY = 50_000
STAGE_SHARES = (0.7, 0.2, 0.1)
# Of every 100 applicants of a stage: how many have each status.
STATUS_MIX = (
    (ApplicantStatus.ACTIVE, 90),
    (ApplicantStatus.REJECTED, 5),
    (ApplicantStatus.WITHDRAWN, 3),
    (ApplicantStatus.ACCEPTED, 2),
)
STATUS_OF = [status for status, share in STATUS_MIX for _ in range(share)]
BOARD_ROUTE = "GET /app/{org_id}/applications/{application_id}/board"
KINDS = ("board", "board_newest", "health")


@dataclass
class Database:
    size: int
    store: MongoStore
    token: str = ""
    org_id: str = ""
    application_id: str = ""
    stage_ids: list[str] = field(default_factory=list)
    seeded: Counter[Place] = field(default_factory=Counter)
    samples: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def median(self, kind: str) -> float:
        return statistics.median(self.samples[kind])

    def active_in_first_stage(self) -> int:
        return self.seeded[Place(self.org_id, self.application_id, self.stage_ids[0], ApplicantStatus.ACTIVE)]


def open_database(base_settings: Any, size: int) -> Database:
    name = f"plutomi_bench_board_{size}_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(base_settings, mongodb_database=name)
    migrate(settings, say=lambda _: None)
    return Database(size=size, store=MongoStore.connect(settings.mongodb_url, name))


def use(database: Database) -> None:
    """Points `bootstrap.dependencies()` (what the handlers use) at the database."""
    bootstrap.override(store=database.store)


def create_fixture(database: Database) -> None:
    """A member signed in (login code issued and verified), their org and an open application."""
    use(database)
    deps = bootstrap.dependencies()
    email = f"bench-board-{uuid.uuid4().hex[:10]}@example.com"
    login = auth.verify_login_code(deps, email, auth.issue_login_code(deps, email), "127.0.0.1")
    principal = auth.Principal(user=login.user, session=login.session)
    org_id = f"bench-board-{uuid.uuid4().hex[:8]}"
    orgs.create_org(deps, principal, org_id, "Board bench")
    application_id = applications.create_application(deps, principal, org_id, "Drivers", "").application.id
    for name in ("Applied", "Interview", "Final review"):
        design = applications.create_stage(deps, principal, org_id, application_id, name, None)
    applications.update_application(deps, principal, org_id, application_id, status=ApplicationStatus.OPEN)
    database.token, database.org_id, database.application_id = login.token, org_id, application_id
    database.stage_ids = [stage.id for stage in design.stages]


def seed(database: Database, batch_size: int) -> None:
    now = datetime.now(UTC)
    size = database.size
    bounds = [int(size * sum(STAGE_SHARES[: index + 1])) for index in range(len(STAGE_SHARES) - 1)] + [size]
    print(f"  seeding {size:,} applicants into three stages ...", flush=True)
    started = time.perf_counter()
    batch: list[Document] = []
    for number in range(size):
        stage_id = database.stage_ids[next(i for i, bound in enumerate(bounds) if number < bound)]
        document = waiting_applicant(
            database.org_id,
            database.application_id,
            stage_id,
            number,
            now - timedelta(seconds=size - number),
            status=STATUS_OF[number % len(STATUS_OF)],
        )
        batch.append(document)
        place = Place(database.org_id, database.application_id, stage_id, ApplicantStatus(document["status"]))
        database.seeded[place] += 1
        if len(batch) == batch_size or number == size - 1:
            database.store.items.insert_many(batch, ordered=False)
            batch = []
        done = number + 1
        if done % PROGRESS_EVERY == 0 or done == size:
            elapsed = time.perf_counter() - started
            rate = done / elapsed
            print(f"    {done:>9,} / {size:,} documents  {elapsed:7.1f} s  ({rate:,.0f}/s)", flush=True)
    database.store.stage_counts.replace(
        database.org_id, database.application_id, database.stage_ids, database.seeded
    )


def calls(database: Database) -> dict[str, Callable[[], dict[str, Any]]]:
    board, health = load_handler("web.board"), load_handler("api.health")
    path = f"/app/{database.org_id}/applications/{database.application_id}/board"
    parameters = {"org_id": database.org_id, "application_id": database.application_id}
    headers = [("host", "localhost"), ("cookie", f"{SESSION_COOKIE}={database.token}")]

    def board_call(query: str) -> Callable[[], dict[str, Any]]:
        def call() -> dict[str, Any]:
            event = http_event(
                method="GET",
                path=path,
                route_key=BOARD_ROUTE,
                path_parameters=parameters,
                query_string=query,
                headers=headers,
            )
            result: dict[str, Any] = board(event, LocalContext("web.board"))
            return result

        return call

    def health_call() -> dict[str, Any]:
        event = http_event(
            method="GET", path="/health", route_key="GET /health", headers=[("host", "localhost")]
        )
        result: dict[str, Any] = health(event, LocalContext("api.health"))
        return result

    return {"board": board_call(""), "board_newest": board_call("order=newest"), "health": health_call}


def check(database: Database, kind: str, result: dict[str, Any]) -> None:
    if result.get("statusCode") != 200:
        raise SystemExit(f"board bench: {kind} answered {result.get('statusCode')}: {result.get('body')}")
    if kind.startswith("board"):
        expected = f'data-count="{database.active_in_first_stage()}"'
        if expected not in result["body"] or result["body"].count('class="board-card"') != 60:
            raise SystemExit(f"board bench: the board of {database.size:,} lacks {expected} or 3 x 20 cards")


def timed(call: Callable[[], dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=10_000, help="applicants in the application, baseline")
    parser.add_argument("--large", type=int, default=200_000, help="applicants in the application, large")
    parser.add_argument("--rounds", type=int, default=4, help="blocks per size and request")
    parser.add_argument("--block", type=int, default=10, help="timed calls per block")
    parser.add_argument("--insert-batch", type=int, default=5_000, help="documents per insert_many")
    parser.add_argument("--target", type=float, default=1.2, help="the large/small ratio to stay under")
    args = parser.parse_args()
    for quiet in (logger, runtime_logger):
        quiet.setLevel("WARNING")
    print(
        f"pipeline board: {args.small:,} and {args.large:,} applicants, {args.rounds} x {args.block} calls "
        f"each; python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-board-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server; migrating ...", flush=True)
            bootstrap.override(clock=FixedClock(datetime.now(UTC).replace(microsecond=0)))
            export_with_fresh_database(services, "bench_board")
            settings = bootstrap.dependencies().settings
            databases = [open_database(settings, args.small), open_database(settings, args.large)]
            for database in databases:
                create_fixture(database)
                seed(database, args.insert_batch)
            by_database = [(database, calls(database)) for database in databases]
            print(f"  timing: {args.rounds} rounds of {args.block} calls x (small, large), after a warm-up")
            for round_number in range(args.rounds):
                for database, by_kind in by_database:
                    use(database)
                    for kind, call in by_kind.items():
                        for _ in range(3):  # warm-up after switching: connections, caches
                            check(database, kind, call())
                        for _ in range(args.block):
                            elapsed, result = timed(call)
                            check(database, kind, result)
                            database.samples[kind].append(elapsed)
                print(f"    round {round_number + 1} / {args.rounds} done", flush=True)
            for database in databases:
                database.store.client.close()
        finally:
            bootstrap.reset()
            services.stop()

    small, large = databases
    growth = large.median("board") / small.median("board")
    verdict = "PASS" if growth <= args.target else f"OVER {args.target:g}x"
    print(
        f"\nmedians of {args.rounds * args.block} calls, in ms (in-process handler, as the gateway calls it):"
    )
    print(f"  {'applicants':>10}  {'board':>8}  {'newest':>8}  {'/health':>8}")
    for database in databases:
        print(
            f"  {database.size:>10,}  {database.median('board'):8.2f}  {database.median('board_newest'):8.2f}"
            f"  {database.median('health'):8.2f}"
        )
    sizes = f"{args.large:,} / {args.small:,}"
    newest = large.median("board_newest") / small.median("board_newest")
    print(f"  {sizes}: board {growth:.2f}x  (target <= {args.target:g}x)  {verdict}")
    print(f"  {sizes}: board, newest first {newest:.2f}x")
    print(f"  {sizes}: /health {large.median('health') / small.median('health'):.2f}x")
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, load {os.getloadavg()[0]:.2f}")
    if growth > args.target:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
