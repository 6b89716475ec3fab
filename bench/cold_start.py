"""Cold start of every API function: a fresh Python process imports it and serves one request.

For each function in `plutomi.topology.api_functions()`, and for a bare Powertools hello-world
handler measured in the same run, N fresh processes each time, with `time.perf_counter()`, the
import of the handler module plus its first request (a real one, against real MongoDB and NATS
started here), and assert the answer is 2xx. The ratio to the hello-world's median is the figure;
the target is at most 1.5x. The wall time of the whole child process, seen from this process, is
printed too.

    .venv/bin/python bench/cold_start.py [--runs 5] [--target 1.5]

Always exits 0 (it is a benchmark) unless a request fails or the setup breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plutomi.runtime.aws_events import http_event
from plutomi.runtime.dev import export_endpoints
from plutomi.runtime.embedded import EmbeddedServices

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "baseline"
MARKER = "COLD_START_RESULT "

HELLO_WORLD = '''"""A bare Powertools hello-world handler: the cold-start baseline."""
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


@app.get("/hello")
def hello() -> dict:
    return {"message": "hello"}


handler = app.resolve
'''

# Runs in each fresh process: argv = [module, extra sys.path entry or "", event file, function name].
# `LocalContext` is imported before the clock starts; it is asserted to load nothing heavy, so the
# baseline and the functions pay for exactly their own imports.
CHILD = f"""
import importlib, json, sys, time
from plutomi.runtime.functions import LocalContext
module_name, extra_path, event_file, function_name = sys.argv[1:5]
if extra_path:
    sys.path.insert(0, extra_path)
with open(event_file) as fh:
    event = json.load(fh)
preloaded = [m for m in ("pydantic", "pymongo", "nats", "boto3", "aws_lambda_powertools", "plutomi.topology")
             if m in sys.modules]
assert not preloaded, f"loaded before the clock started: {{preloaded}}"
started = time.perf_counter()
module = importlib.import_module(module_name)
imported = time.perf_counter()
response = module.handler(event, LocalContext(function_name))
served = time.perf_counter()
status = response["statusCode"]
assert 200 <= status < 300, f"{{module_name}} answered {{status}}: {{response.get('body')}}"
print({MARKER!r} + json.dumps({{
    "import_ms": (imported - started) * 1000,
    "request_ms": (served - imported) * 1000,
    "status": status,
    "boto3": "boto3" in sys.modules,
    "modules": len(sys.modules),
}}), flush=True)
"""


@dataclass(frozen=True)
class Sample:
    import_ms: float
    request_ms: float
    wall_ms: float
    boto3: bool
    modules: int

    @property
    def cold_ms(self) -> float:
        return self.import_ms + self.request_ms


@dataclass(frozen=True)
class Fixture:
    """A signed-in person who owns an org with a pending invite."""

    token: str
    org_id: str


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    extra_path: str
    event: Callable[[], dict[str, Any]]


def _json_headers(token: str | None = None) -> list[tuple[str, str]]:
    headers = [("host", "localhost"), ("content-type", "application/json"), ("user-agent", "cold-start")]
    if token:
        headers.append(("authorization", f"Bearer {token}"))
    return headers


def _get(path: str, route: str, token: str | None = None, **params: str) -> Callable[[], dict[str, Any]]:
    return lambda: http_event(
        method="GET",
        path=path,
        route_key=f"GET {route}",
        path_parameters=params,
        headers=_json_headers(token),
    )


def _request_code() -> dict[str, Any]:
    email = f"cold-{uuid.uuid4().hex[:12]}@example.com"  # fresh each time: codes are rate limited
    body = json.dumps({"email": email}).encode()
    return http_event(
        method="POST", path="/auth/totp", route_key="POST /auth/totp", headers=_json_headers(), body=body
    )


def representative_requests(fixture: Fixture) -> dict[str, Callable[[], dict[str, Any]]]:
    """One typical request per API function; each must answer 2xx."""
    org = fixture.org_id
    return {
        "api.auth": _request_code,
        "api.docs": _get("/openapi.json", "/openapi.json"),
        "api.health": _get("/health", "/health"),
        "api.invites": _get(f"/orgs/{org}/invites", "/orgs/{org_id}/invites", fixture.token, org_id=org),
        "api.members": _get(f"/orgs/{org}/members", "/orgs/{org_id}/members", fixture.token, org_id=org),
        "api.orgs": _get("/orgs", "/orgs", fixture.token),
        "api.users": _get("/users/me", "/users/me", fixture.token),
    }


def create_fixture() -> Fixture:
    """Signs a person in through the service layer (reading the code from the event it publishes),
    creates an org and invites someone, all against the real store and NATS."""
    from plutomi.adapters.clock import SystemClock
    from plutomi.adapters.mongo_store import MongoStore
    from plutomi.adapters.nats_publisher import NatsEventPublisher
    from plutomi.config import get_settings
    from plutomi.domain import events
    from plutomi.domain.events import Event
    from plutomi.domain.models import Role
    from plutomi.services import auth, invites, orgs
    from plutomi.services.ports import Dependencies

    class Recording:
        """Publishes to NATS as usual and remembers what it published."""

        def __init__(self, publisher: NatsEventPublisher) -> None:
            self.publisher = publisher
            self.published: list[Event] = []

        def publish(self, batch: Any) -> None:
            self.publisher.publish(batch)
            self.published.extend(batch)

        def check(self) -> None:
            self.publisher.check()

    settings = get_settings()
    recording = Recording(NatsEventPublisher(settings.nats_url, settings.nats_timeout_seconds))
    store = MongoStore.connect(settings.mongodb_url, settings.mongodb_database)
    deps = Dependencies(store=store, events=recording, clock=SystemClock(), settings=settings)
    try:
        email = f"bench-owner-{uuid.uuid4().hex[:10]}@example.com"
        auth.request_login_code(deps, email)
        code = next(e.data["code"] for e in recording.published if e.type == events.TOTP_REQUESTED)
        login = auth.verify_login_code(deps, email, code)
        principal = auth.authenticate(deps, login.token)
        org_id = f"bench-{uuid.uuid4().hex[:10]}"
        orgs.create_org(deps, principal, org_id, "Cold Start Bench")
        invites.create_invite(deps, principal, org_id, f"invitee-{uuid.uuid4().hex[:8]}@example.com",
                              Role.MEMBER, 7)  # fmt: skip
        return Fixture(token=login.token, org_id=org_id)
    finally:
        store.client.close()


def run_child(target: Target, work_dir: Path, env: dict[str, str]) -> Sample:
    event_file = work_dir / f"event-{uuid.uuid4().hex}.json"
    event_file.write_text(json.dumps(target.event()))
    command = [sys.executable, "-c", CHILD, target.module, target.extra_path, str(event_file), target.name]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    wall_ms = (time.perf_counter() - started) * 1000
    event_file.unlink()
    lines = [line for line in finished.stdout.splitlines() if line.startswith(MARKER)]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(
            f"{target.name}: the child failed (exit {finished.returncode})\n"
            f"--- stdout\n{finished.stdout[-3000:]}\n--- stderr\n{finished.stderr[-3000:]}"
        )
    result = json.loads(lines[-1][len(MARKER) :])
    return Sample(result["import_ms"], result["request_ms"], wall_ms, result["boto3"], result["modules"])


def measure(target: Target, runs: int, work_dir: Path, env: dict[str, str]) -> list[Sample]:
    run_child(target, work_dir, env)  # warm-up: bytecode caches and the OS page cache, not counted
    return [run_child(target, work_dir, env) for _ in range(runs)]


@dataclass(frozen=True)
class Row:
    name: str
    cold_ms: float
    import_ms: float
    request_ms: float
    wall_ms: float
    boto3: bool
    modules: int

    @staticmethod
    def of(name: str, samples: list[Sample]) -> Row:
        return Row(
            name=name,
            cold_ms=statistics.median(s.cold_ms for s in samples),
            import_ms=statistics.median(s.import_ms for s in samples),
            request_ms=statistics.median(s.request_ms for s in samples),
            wall_ms=statistics.median(s.wall_ms for s in samples),
            boto3=any(s.boto3 for s in samples),
            modules=max(s.modules for s in samples),
        )


def print_table(rows: list[Row], baseline: Row, target: float) -> list[Row]:
    header = (
        f"{'function':<12} {'cold ms':>8} {'import':>8} {'request':>8} {'wall ms':>8} "
        f"{'modules':>7} {'ratio':>6}  verdict"
    )
    print(header)
    print("-" * len(header))
    over = []
    for row in [baseline, *rows]:
        ratio = row.cold_ms / baseline.cold_ms
        if row is baseline:
            verdict = "(baseline)"
        elif ratio <= target:
            verdict = "PASS"
        else:
            verdict = f"OVER {target:g}x"
            over.append(row)
        if row.boto3:
            verdict += "  (imports boto3!)"
        print(
            f"{row.name:<12} {row.cold_ms:>8.1f} {row.import_ms:>8.1f} {row.request_ms:>8.1f} "
            f"{row.wall_ms:>8.1f} {row.modules:>7} {ratio:>5.2f}x  {verdict}"
        )
    return over


def print_import_profile(row: Row, module: str, env: dict[str, str], top: int = 15) -> None:
    print(f"\nwhere the time goes: python -X importtime -c 'import {module}' (top {top} by cumulative us)")
    finished = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    entries: list[tuple[int, int, str]] = []
    for line in finished.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        entries.append((int(cumulative_us), int(self_us), name.rstrip()))
    entries.sort(reverse=True)
    print(f"{'cumulative us':>14} {'self us':>9}  module")
    for cumulative_us, self_us, name in entries[:top]:
        print(f"{cumulative_us:>14} {self_us:>9}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per function (median taken)")
    parser.add_argument("--target", type=float, default=1.5, help="the ratio to the baseline to stay under")
    args = parser.parse_args()

    from plutomi.config import get_settings
    from plutomi.runtime.migrate import migrate
    from plutomi.topology import api_functions, module_of

    print(
        f"cold start: {args.runs} runs each, python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="plutomi-cold-start-") as tmp:
        work_dir = Path(tmp)
        (work_dir / "hello_world.py").write_text(HELLO_WORLD)
        services = EmbeddedServices(work_dir / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server ...", flush=True)
            export_endpoints(services)
            os.environ["MONGODB_DATABASE"] = f"plutomi_bench_{uuid.uuid4().hex[:8]}"
            os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
            migrate(get_settings(), say=lambda _: None)
            fixture = create_fixture()
            env = dict(os.environ)
            requests = representative_requests(fixture)
            missing = [name for name in api_functions() if name not in requests]
            if missing:
                raise SystemExit(
                    f"no representative request for {missing}: add one to representative_requests"
                )

            def hello() -> dict[str, Any]:
                return http_event(method="GET", path="/hello", route_key="GET /hello")

            baseline_target = Target(BASELINE, "hello_world", str(work_dir), hello)
            targets = [Target(name, module_of(name), "", requests[name]) for name in api_functions()]

            samples: dict[str, list[Sample]] = {BASELINE: []}
            # The baseline runs first and last, so drift in the machine's load shows up in both halves.
            samples[BASELINE] += measure(baseline_target, args.runs, work_dir, env)
            print(f"  {BASELINE:<12} {Row.of(BASELINE, samples[BASELINE]).cold_ms:8.1f} ms", flush=True)
            for target in targets:
                samples[target.name] = measure(target, args.runs, work_dir, env)
                row = Row.of(target.name, samples[target.name])
                print(f"  {target.name:<12} {row.cold_ms:8.1f} ms", flush=True)
            second = measure(baseline_target, args.runs, work_dir, env)
            print(f"  {BASELINE:<12} {Row.of(BASELINE, second).cold_ms:8.1f} ms (again)", flush=True)
            samples[BASELINE] += second
        finally:
            services.stop()

        print(
            f"\nmedian of {args.runs} fresh processes (baseline: {2 * args.runs}); cold = import + first "
            f"request, in the child; wall = the whole child process; load {os.getloadavg()[0]:.2f}\n"
        )
        baseline = Row.of(BASELINE, samples[BASELINE])
        rows = [Row.of(target.name, samples[target.name]) for target in targets]
        over = print_table(rows, baseline, args.target)
        if over:
            print(f"\n{len(over)} of {len(rows)} over {args.target:g}x: {', '.join(r.name for r in over)}")
            slowest = max(over, key=lambda r: r.cold_ms)
            print_import_profile(slowest, module_of(slowest.name), env)
        else:
            print(f"\nall {len(rows)} functions within {args.target:g}x of the baseline")
        print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}")


if __name__ == "__main__":
    main()
