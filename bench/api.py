"""The API under load: the gateway as K3S runs it, against the same handler called in-process.

Starts nats-server, nx-27017 and moto_server (on free ports), migrates a fresh database, and seeds an
org, a signed-in member of it (the login code issued and verified through `plutomi.services.auth`) and
an open application whose first stage holds `--applicants` (1,000) applicants, written with raw
`insert_many` batches in the shape `Applicants.create` writes. Then, `--rounds` (2) times, for each
`--workers` count (1 and 2), `plutomi gateway --workers N` runs as a subprocess on a free loopback port
(relay off, as on K3S), and for each request measured:

- in-process, the limit: `functions.api.<resource>.handler` called in a loop in this process with a
  fresh API Gateway payload-2.0 event per call (`plutomi.runtime.aws_events.http_event`), one call at a
  time, `--in-process` (500) calls after a warm-up;
- right after, through the gateway: a load generator in a second process (this file with `--load`),
  for each `--concurrency` (1 and 8), that many keep-alive HTTP/1.1 connections sending `--requests`
  (2,000) requests in all after a warm-up, each connection one request at a time; every answer must
  be 200.

Two requests are measured: `GET /health` (a store ping and a JetStream check) and an authenticated
`GET /orgs/{org}/applications/{app}/applicants?limit=25` (session lookup, membership and application
checks, one indexed page query). For each, requests/s, p50 and p99 are printed, and the ratio of the
gateway's rate per busy worker process (one connection keeps one worker busy) to the in-process rate
measured just before it (target >= 0.7; medians over the rounds), and the CPU time each request cost
the serving process(es) and nx-27017, read from /proc: unlike rates, it hardly depends on what else
the machine is doing. At concurrency 1 the ratio is the gateway's own cost per request (HTTP, the
event, the thread hop, the access log); at 8 a worker also overlaps its handlers with the store's
work, which a loop of single calls cannot. Everything shares the machine: the load generator, the
gateway workers and nx-27017 (itself a Python process) compete for the cores, so on a 2-core machine
2 workers cannot double the rate.

    .venv/bin/python bench/api.py [--applicants 1000] [--requests 2000] [--concurrency 1,8] [--rounds 2]

Exits 1 if an answer is not the one expected (a broken bench, not a slow one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = 25
LIST_ROUTE = "/orgs/{org_id}/applications/{application_id}/applicants"


@dataclass
class Result:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: dict[str, int] = field(default_factory=dict)  # answers other than 200, by status
    cpu_ms: float = 0.0  # CPU per request of the process(es) serving it: this one, or the gateway's
    store_cpu_ms: float = 0.0  # CPU per request of nx-27017

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    def line(self) -> str:
        return (
            f"{self.rate:8,.0f} req/s  p50 {self.percentile(50):6.2f} ms  p99 {self.percentile(99):6.2f} ms"
            f"  cpu/req {self.cpu_ms:5.2f} ms (+ store {self.store_cpu_ms:5.2f} ms)"
            + (f"  ERRORS {self.errors}" if self.errors else "")
        )


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes and their children used so far, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    seen: set[int] = set()
    pending = list(pids)
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


# ---------------------------------------------------------------------------------------------------
# The load generator (the second process): a bounded number of requests over keep-alive connections.


async def _one_connection(
    host: str, port: int, request: bytes, remaining: list[int], latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (header := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.append(int(status_line.split()[1]) if status_line else 0)
    finally:
        writer.close()


async def _load(host: str, port: int, request: bytes, count: int, concurrency: int) -> Result:
    remaining = [count]
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(_one_connection(host, port, request, remaining, latencies, statuses) for _ in range(concurrency))
    )
    seconds = time.perf_counter() - started
    errors: dict[str, int] = {}
    for status in statuses:
        if status != 200:
            errors[str(status)] = errors.get(str(status), 0) + 1
    return Result(len(latencies), seconds, latencies, errors)


def run_load(args: argparse.Namespace) -> None:
    headers = f"Host: {args.host}:{args.port}\r\n" + "".join(f"{h}\r\n" for h in args.header)
    request = f"GET {args.path} HTTP/1.1\r\n{headers}\r\n".encode()
    result = asyncio.run(
        asyncio.wait_for(_load(args.host, args.port, request, args.requests, args.connections), 300)
    )
    print(json.dumps({"requests": result.requests, "seconds": result.seconds, "errors": result.errors,
                      "latencies_ms": result.latencies_ms}))  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# The bench (the first process): services, data, in-process calls, gateways and the load process.


@dataclass(frozen=True)
class Fixture:
    token: str
    org_id: str
    application_id: str


def seed(applicants: int) -> Fixture:
    from seeding import waiting_applicant

    from plutomi.bootstrap import dependencies
    from plutomi.domain.pipeline import ApplicationStatus
    from plutomi.services import applications, auth, orgs

    deps = dependencies()
    email = f"bench-api-{uuid.uuid4().hex[:10]}@example.com"
    login = auth.verify_login_code(deps, email, auth.issue_login_code(deps, email), "127.0.0.1")
    principal = auth.Principal(user=login.user, session=login.session)
    org_id = f"bench-api-{uuid.uuid4().hex[:8]}"
    orgs.create_org(deps, principal, org_id, "API bench")
    application_id = applications.create_application(deps, principal, org_id, "Drivers", "").application.id
    applications.create_stage(deps, principal, org_id, application_id, "Questionnaire", None)
    design = applications.create_stage(deps, principal, org_id, application_id, "Waiting list", None)
    applications.update_application(deps, principal, org_id, application_id, status=ApplicationStatus.OPEN)
    stage_id = design.stages[0].id
    now = deps.clock.now()
    documents = []
    for number in range(applicants):
        entered_at = now - timedelta(seconds=applicants - number)
        documents.append(
            waiting_applicant(org_id, application_id, stage_id, number, entered_at, deps.clock.new_id("apl"))
        )
    for start in range(0, len(documents), 500):
        deps.store.items.insert_many(documents[start : start + 500], ordered=False)
    return Fixture(login.token, org_id, application_id)


@dataclass(frozen=True)
class Case:
    name: str
    function: str
    path: str
    query: str
    route: str
    parameters: dict[str, str]
    headers: list[tuple[str, str]]


def cases(fixture: Fixture) -> list[Case]:
    org, app = fixture.org_id, fixture.application_id
    return [
        Case("GET /health", "api.health", "/health", "", "/health", {}, []),
        Case(
            f"GET applicants?limit={PAGE}",
            "api.applicants",
            f"/orgs/{org}/applications/{app}/applicants",
            f"limit={PAGE}",
            LIST_ROUTE,
            {"org_id": org, "application_id": app},
            [("authorization", f"Bearer {fixture.token}")],
        ),
    ]


def in_process_call(case: Case) -> Callable[[], dict[str, Any]]:
    from plutomi.runtime.aws_events import http_event
    from plutomi.runtime.functions import LocalContext, load_handler

    handler = load_handler(case.function)

    def call() -> dict[str, Any]:
        event = http_event(
            method="GET",
            path=case.path,
            route_key=f"GET {case.route}",
            path_parameters=case.parameters,
            query_string=case.query,
            headers=[("host", "localhost"), *case.headers],
        )
        result: dict[str, Any] = handler(event, LocalContext(case.function))
        return result

    return call


def check(case: Case, result: dict[str, Any]) -> None:
    if result.get("statusCode") != 200:
        raise SystemExit(f"api bench: {case.name} answered {result.get('statusCode')}: {result.get('body')}")
    body = json.loads(result["body"])
    if case.function == "api.applicants" and (len(body["applicants"]) != PAGE or not body["next_cursor"]):
        raise SystemExit(f"api bench: {case.name} did not return a full page with a cursor")


def measure_in_process(case: Case, count: int, warmup: int, store_pid: int) -> Result:
    call = in_process_call(case)
    for _ in range(warmup):
        check(case, call())
    latencies = []
    store_cpu, cpu = cpu_seconds([store_pid]), time.process_time()
    started = time.perf_counter()
    for _ in range(count):
        began = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - began) * 1000)
    seconds = time.perf_counter() - started
    result = Result(count, seconds, latencies)
    result.cpu_ms = (time.process_time() - cpu) * 1000 / count
    result.store_cpu_ms = (cpu_seconds([store_pid]) - store_cpu) * 1000 / count
    return result


class ServerProcess:
    """`plutomi <command> ...` as a subprocess serving HTTP on a free loopback port, once healthy."""

    def __init__(self, command: list[str], log_path: Path, environment: dict[str, str]) -> None:
        from plutomi.runtime.embedded import free_port

        self.port = free_port()
        self.log_path = log_path
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plutomi.runtime.cli", *command, "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=dict(os.environ) | environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"api bench: `plutomi {command[0]}` did not start; see {log_path}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def measure_gateway(
    gateway: ServerProcess, case: Case, concurrency: int, args: argparse.Namespace, store_pid: int
) -> Result:
    query = f"?{case.query}" if case.query else ""
    headers = [f"--header={name}: {value}" for name, value in case.headers]

    def load(requests: int) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, __file__, "--load", "--host", "127.0.0.1", "--port", str(gateway.port),
             "--path", case.path + query, *headers, "--requests", str(requests),
             "--connections", str(concurrency)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"api bench: the load generator failed:\n{done.stderr}")
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    load(args.warmup)
    gateway_cpu, store_cpu = cpu_seconds([gateway.process.pid]), cpu_seconds([store_pid])
    data = load(args.requests)
    result = Result(data["requests"], data["seconds"], data["latencies_ms"], data["errors"])
    result.cpu_ms = (cpu_seconds([gateway.process.pid]) - gateway_cpu) * 1000 / result.requests
    result.store_cpu_ms = (cpu_seconds([store_pid]) - store_cpu) * 1000 / result.requests
    if result.errors:
        log = gateway.log_path.read_text(errors="replace").splitlines()
        tail = "\n".join(line for line in log if '"status":200' not in line)[-4000:]
        raise SystemExit(f"api bench: answers to {case.name} that were not 200: {result.errors}\n{tail}")
    return result


# ---------------------------------------------------------------------------------------------------
# The time a person waits for an email: request -> outbox -> relay -> NATS -> bridge -> SES.

POLL_SECONDS = 0.05  # how often the local SES is read: the resolution of "the email arrived"


@dataclass
class Waits:
    """What happened to each email: when its request left, and when the local SES had it."""

    sent_at: dict[str, float] = field(default_factory=dict)  # recipient -> time.time() of the request
    seen_at: dict[str, float] = field(default_factory=dict)  # recipient -> first poll that listed it
    polls_ms: list[float] = field(default_factory=list)  # how long each read of the local SES took


def _watch_mail(endpoint: str, waits: Waits, stop: threading.Event) -> None:
    from plutomi.runtime.local_mail import sent_recipients

    while not stop.is_set():
        began = time.perf_counter()
        listed = sent_recipients(endpoint)  # no MIME parsing: the poll must stay far below its period
        now = time.time()
        waits.polls_ms.append((time.perf_counter() - began) * 1000)
        for recipients in listed:
            for recipient in recipients:
                if recipient in waits.sent_at and recipient not in waits.seen_at:
                    waits.seen_at[recipient] = now
        stop.wait(POLL_SECONDS)


def _post(port: int, path: str, body: dict[str, str], client: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        # Each request from its own client address (behind our proxy, PLUTOMI_CLIENT_IP_HEADER): the
        # per-client limits on code requests and applies are not what is measured.
        headers={"content-type": "application/json", "x-forwarded-for": client},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _steady(port: int, kind: str, fixture: Fixture, count: int, rate: float, waits: Waits) -> list[int]:
    """`count` requests at `rate` per second, on time whatever each one takes (a thread pool)."""
    from concurrent.futures import ThreadPoolExecutor

    run = uuid.uuid4().hex[:6]
    path = "/auth/totp" if kind == "totp" else (
        f"/public/orgs/{fixture.org_id}/applications/{fixture.application_id}/applicants"
    )  # fmt: skip

    def one(number: int) -> int:
        email = f"wait-{kind}-{run}-{number}@example.com"
        body = (
            {"email": email} if kind == "totp" else {"email": email, "first_name": "Pat", "last_name": "Wait"}
        )
        waits.sent_at[email] = time.time()
        return _post(port, path, body, f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = []
        for number in range(count):
            time.sleep(max(0.0, started + number / rate - time.perf_counter()))
            futures.append(pool.submit(one, number))
        return [future.result() for future in futures]


def _stages(log_path: Path, kind: str) -> dict[str, list[float]]:
    """Where each email's time went, from the outbox (when the event was written, when the relay
    had it acked by JetStream) and the notifications bridge's log lines (when its batch's handler
    started and when the message was settled, the email accepted by SES by then)."""
    from plutomi.adapters.mongo_outbox import OUTBOX_TYPE
    from plutomi.bootstrap import dependencies
    from plutomi.domain import events

    event_type = events.TOTP_REQUESTED if kind == "totp" else events.APPLICANT_CREATED
    written: dict[str, tuple[float, float]] = {}
    for document in dependencies().store.items.find({"type": {"$eq": OUTBOX_TYPE}}):
        event = document["event"]
        if event["type"] == event_type and document.get("sent_at"):
            written[event["id"]] = (
                datetime.fromisoformat(event["occurred_at"]).timestamp(),
                datetime.fromisoformat(document["sent_at"]).timestamp(),
            )
    stages: dict[str, list[float]] = {"relay": [], "to the bridge's handler": [], "handler (batch)": []}
    for line in log_path.read_text(errors="replace").splitlines():
        if '"tier":"notifications"' not in line.replace(" ", ""):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event_id") not in written or record.get("outcome") != "ok":
            continue
        occurred, relayed = written[record["event_id"]]
        settled = datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z").timestamp()
        handler_started = settled - record["latency_ms"] / 1000
        stages["relay"].append((relayed - occurred) * 1000)
        stages["to the bridge's handler"].append((handler_started - relayed) * 1000)
        stages["handler (batch)"].append(record["latency_ms"])
    return stages


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  (n={len(ordered)})"


def measure_email_waits(fixture: Fixture, args: argparse.Namespace, tmp: Path) -> None:
    """`plutomi dev --only gateway,relay,bridges` (the relay inside the gateway, every consumer's
    bridge) against the running services, `--email-requests` code requests then as many applies at
    `--email-rate` per second, and the time from each request to its email in the local SES."""
    from plutomi.config import get_settings

    endpoint = get_settings().aws_endpoint_url
    assert endpoint is not None
    log_path = tmp / "dev.log"
    dev = ServerProcess(
        ["dev", "--only", "gateway,relay,bridges", "--data-dir", str(tmp / "dev")],
        log_path,
        {"PLUTOMI_CLIENT_IP_HEADER": "x-forwarded-for"},
    )
    print(
        f"\ntime to the email: {args.email_requests} requests of each kind at {args.email_rate:g}/s "
        f"through `plutomi dev --only gateway,relay,bridges`; the local SES read every "
        f"{POLL_SECONDS * 1000:g} ms",
        flush=True,
    )
    try:
        for kind, label in (
            ("totp", "POST /auth/totp -> sign-in code"),
            ("apply", "public apply -> portal link"),
        ):
            waits = Waits()
            stop = threading.Event()
            watcher = threading.Thread(target=_watch_mail, args=(endpoint, waits, stop), daemon=True)
            watcher.start()
            try:
                statuses = _steady(dev.port, kind, fixture, args.email_requests, args.email_rate, waits)
                deadline = time.monotonic() + 60
                while len(waits.seen_at) < len(waits.sent_at) and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                stop.set()
                watcher.join()
            refused = {status: statuses.count(status) for status in set(statuses) if status >= 300}
            if refused or len(waits.seen_at) < len(waits.sent_at):
                raise SystemExit(
                    f"api bench: {label}: answers {refused or 'all 2xx'}, "
                    f"{len(waits.sent_at) - len(waits.seen_at)} emails never arrived; see {log_path}"
                )
            total = [(waits.seen_at[to] - sent) * 1000 for to, sent in waits.sent_at.items()]
            print(f"  {label:<34} {_spread(total)}", flush=True)
            for stage, values in _stages(log_path, kind).items():
                print(f"    {stage:<32} {_spread(values)}", flush=True)
            print(f"    {'reading the local SES':<32} {_spread(waits.polls_ms)}", flush=True)
    finally:
        dev.stop()


def run_bench(args: argparse.Namespace) -> None:
    from plutomi import bootstrap
    from plutomi.observability import logger, runtime_logger
    from plutomi.runtime.dev import export_with_fresh_database
    from plutomi.runtime.embedded import EmbeddedServices

    for quiet in (logger, runtime_logger):
        quiet.setLevel("WARNING")
    workers = [int(n) for n in args.workers.split(",")]
    levels = [int(n) for n in args.concurrency.split(",")]
    print(
        f"API under load: {args.applicants:,} applicants; in-process {args.in_process} calls, gateway "
        f"{args.requests:,} requests per case at concurrency {levels}; workers {workers}; "
        f"{args.rounds} rounds; python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results: dict[tuple[str, str], list[Result]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-api-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server; migrating; seeding ...", flush=True)
            export_with_fresh_database(services, "bench_api")
            started = time.perf_counter()
            fixture = seed(args.applicants)
            print(f"  seeded in {time.perf_counter() - started:.1f} s", flush=True)
            all_cases = cases(fixture)
            store_pid = services.pids()["mongodb"]
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}", flush=True)
                for count in workers:
                    gateway = ServerProcess(
                        ["gateway", "--workers", str(count)],
                        Path(tmp) / f"gateway-{count}.log",
                        {"PLUTOMI_GATEWAY_RELAY": "off"},  # as on K3S
                    )
                    try:
                        for case in all_cases:
                            # The limit is measured right before the gateway, so a burst of load on a
                            # shared machine hits both alike; each ratio pairs the two.
                            limit = measure_in_process(case, args.in_process, args.warmup, store_pid)
                            results.setdefault((case.name, "in-process"), []).append(limit)
                            print(f"  {'in-process':<18} {case.name:<24} {limit.line()}", flush=True)
                            for level in levels:
                                result = measure_gateway(gateway, case, level, args, store_pid)
                                label = f"{count} worker, c={level}"
                                results.setdefault((case.name, label), []).append(result)
                                busy = min(count, level)  # one connection keeps one worker busy
                                ratios.setdefault((case.name, label), []).append(
                                    result.rate / busy / limit.rate
                                )
                                print(f"  {label:<18} {case.name:<24} {result.line()}", flush=True)
                    finally:
                        gateway.stop()
            if args.email_requests:
                measure_email_waits(fixture, args, Path(tmp))
        finally:
            bootstrap.reset()
            logging.getLogger("nats").setLevel(logging.CRITICAL)  # our idle client, as NATS stops
            services.stop()

    print(
        f"\nmedians of {args.rounds} rounds; ratio = gateway rate per busy worker (min(workers, "
        f"concurrency)) / in-process rate measured just before it (target >= {args.target:g}); cpu = CPU "
        "time per request of this process (in-process) or of the gateway's processes, and of nx-27017:"
    )
    for case in all_cases:
        limits = results[(case.name, "in-process")]
        print(
            f"  {case.name}: in-process {statistics.median(r.rate for r in limits):,.0f} req/s (one call at "
            f"a time)  cpu {statistics.median(r.cpu_ms for r in limits):.2f} ms "
            f"+ store {statistics.median(r.store_cpu_ms for r in limits):.2f} ms"
        )
        for count in workers:
            for level in levels:
                runs = results[(case.name, f"{count} worker, c={level}")]
                rate = statistics.median(r.rate for r in runs)
                p50 = statistics.median(r.percentile(50) for r in runs)
                p99 = statistics.median(r.percentile(99) for r in runs)
                cpu = statistics.median(r.cpu_ms for r in runs)
                store = statistics.median(r.store_cpu_ms for r in runs)
                ratio = statistics.median(ratios[(case.name, f"{count} worker, c={level}")])
                verdict = "PASS" if ratio >= args.target else "UNDER"
                print(
                    f"    {count} worker(s), concurrency {level}: {rate:6,.0f} req/s  p50 {p50:6.2f} ms  "
                    f"p99 {p99:6.2f} ms  cpu {cpu:.2f} ms + store {store:.2f} ms  "
                    f"ratio {ratio:.2f}  {verdict}"
                )
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, load {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applicants", type=int, default=1000, help="applicants in the listed stage")
    parser.add_argument("--requests", type=int, default=2000, help="timed gateway requests per case")
    parser.add_argument("--concurrency", default="1,8", help="connections of the load generator (a list)")
    parser.add_argument("--in-process", type=int, default=500, help="timed in-process calls per case")
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls or requests first")
    parser.add_argument("--workers", default="1,2", help="gateway worker counts to measure")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--target", type=float, default=0.7)
    parser.add_argument(
        "--email-requests", type=int, default=200, help="code requests, then applies (0: skip)"
    )
    parser.add_argument("--email-rate", type=float, default=20.0, help="requests per second for those")
    # The load generator's own options (`--load`: this process is the second one).
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=8080, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="/health", help=argparse.SUPPRESS)
    parser.add_argument("--header", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        run_load(args)
    else:
        run_bench(args)


if __name__ == "__main__":
    main()
