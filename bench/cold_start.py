"""Cold start of every API function: a fresh Python process imports it and serves one request.

Starts nats-server, nx-27017 and moto_server in a temporary directory, migrates, and signs a person
in who owns an org (with an invite, an application and a stage). Then, for each function in
`plutomi.topology.api_functions()`, runs N fresh `python -c` processes that each import the
function's module and call its `handler` with one representative API Gateway event, asserting a
2xx answer. Each sample is taken right after one of a bare Powertools hello-world handler (the
baseline), measured the same way in the same run.

"cold" = import of the handler module + its first request, timed with `time.perf_counter()` inside
the child. The ratio is the median, over a function's samples, of its cold time over the cold time
of the baseline sample taken just before it, so a burst of load on a shared machine hits both
(target: at most 1.5x). "cpu" is the same ratio of the CPU time (`time.process_time()`) of that
section, which a busy machine does not inflate. "wall" = the whole child process, timed from here
(interpreter start-up and shutdown included). Over target, `python -X importtime` of the worst
function shows where its imports go; last, one function is timed stage by stage (Powertools,
pydantic, pymongo, our glue, its own imports, its first request) to show the third-party floor.

    .venv/bin/python bench/cold_start.py [--runs 5] [--target 1.5] [--breakdown api.users]

Exits 0 whatever the ratios (it is a benchmark); a failing request or setup is an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
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

from plutomi.runtime import embedded
from plutomi.runtime.aws_events import http_event
from plutomi.runtime.dev import export_with_fresh_database
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

# Runs in each fresh process: argv = [module, extra sys.path entry or "", event file, function name,
# comma-separated modules to import first, each timed on its own (for the breakdown; usually "")].
# `LocalContext` is imported before the clock starts; it is asserted to load nothing heavy, so the
# baseline and the functions pay for exactly their own imports.
CHILD = f"""
import importlib, json, sys, time
from plutomi.runtime.functions import LocalContext
module_name, extra_path, event_file, function_name, first = sys.argv[1:6]
if extra_path:
    sys.path.insert(0, extra_path)
with open(event_file) as fh:
    event = json.load(fh)
preloaded = [m for m in ("pydantic", "pymongo", "nats", "boto3", "aws_lambda_powertools", "plutomi.topology")
             if m in sys.modules]
assert not preloaded, f"loaded before the clock started: {{preloaded}}"
started = mark = time.perf_counter()
cpu_started = cpu_mark = time.process_time()
stages = []
for name in [*filter(None, first.split(",")), module_name]:
    module = importlib.import_module(name)
    now, cpu_now = time.perf_counter(), time.process_time()
    stages.append([name, (now - mark) * 1000, (cpu_now - cpu_mark) * 1000])
    mark, cpu_mark = now, cpu_now
imported = mark
response = module.handler(event, LocalContext(function_name))
served = time.perf_counter()
cpu_ms = (time.process_time() - cpu_started) * 1000
status = response["statusCode"]
assert 200 <= status < 300, f"{{module_name}} answered {{status}}: {{response.get('body')}}"
print({MARKER!r} + json.dumps({{
    "import_ms": (imported - started) * 1000,
    "request_ms": (served - imported) * 1000,
    "cpu_ms": cpu_ms,
    "stages": stages,
    "status": status,
    "boto3": "boto3" in sys.modules,
    "modules": len(sys.modules),
}}), flush=True)
"""

# The breakdown imports these first, in this order, each timed: what any API function loads before
# a line of its own (Powertools is all the baseline loads), then our shared handler glue.
THIRD_PARTY = ("aws_lambda_powertools.event_handler", "pydantic.main", "pymongo")
BREAKDOWN_STAGES = (*THIRD_PARTY, "plutomi.entrypoints.api")


@dataclass(frozen=True)
class Sample:
    import_ms: float
    request_ms: float
    cpu_ms: float  # CPU time of the cold section: not inflated by waiting for a busy machine's cores
    wall_ms: float
    boto3: bool
    modules: int
    stages: tuple[tuple[str, float, float], ...]  # each import timed: (module, wall ms, cpu ms)

    @property
    def cold_ms(self) -> float:
        return self.import_ms + self.request_ms


@dataclass(frozen=True)
class Fixture:
    """A signed-in owner of an org with a pending invite (and its unsubscribe link) and an application."""

    token: str
    org_id: str
    application_id: str
    unsubscribe_token: str


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    extra_path: str
    event: Callable[[], dict[str, Any]]
    first: tuple[str, ...] = ()


def _json_headers(token: str | None = None) -> list[tuple[str, str]]:
    headers = [("host", "localhost"), ("content-type", "application/json"), ("user-agent", "cold-start")]
    if token:
        headers.append(("authorization", f"Bearer {token}"))
    return headers


def _get(path: str, route: str, bearer: str | None = None, **params: str) -> Callable[[], dict[str, Any]]:
    return lambda: http_event(
        method="GET",
        path=path,
        route_key=f"GET {route}",
        path_parameters=params,
        headers=_json_headers(bearer),
    )


def _request_code() -> dict[str, Any]:
    email = f"cold-{uuid.uuid4().hex[:12]}@example.com"  # fresh each time: codes are rate limited
    body = json.dumps({"email": email}).encode()
    return http_event(
        method="POST", path="/auth/totp", route_key="POST /auth/totp", headers=_json_headers(), body=body
    )


def representative_requests(fixture: Fixture) -> dict[str, Callable[[], dict[str, Any]]]:
    """One typical request per API function (a read where the function has one); each must be 2xx."""
    org, token = fixture.org_id, fixture.token
    applications = f"/orgs/{org}/applications"
    application = f"{applications}/{fixture.application_id}"
    in_application = {"org_id": org, "application_id": fixture.application_id}
    return {
        "api.applicants": _get(
            f"{application}/applicants",
            "/orgs/{org_id}/applications/{application_id}/applicants",
            token,
            **in_application,
        ),
        "api.applications": _get(applications, "/orgs/{org_id}/applications", token, org_id=org),
        "api.auth": _request_code,
        "api.docs": _get("/openapi.json", "/openapi.json"),
        "api.health": _get("/health", "/health"),
        "api.invites": _get(f"/orgs/{org}/invites", "/orgs/{org_id}/invites", token, org_id=org),
        "api.members": _get(f"/orgs/{org}/members", "/orgs/{org_id}/members", token, org_id=org),
        "api.orgs": _get("/orgs", "/orgs", token),
        "api.public": _get(f"/public{applications}", "/public/orgs/{org_id}/applications", org_id=org),
        "api.stages": _get(
            f"{application}/stages",
            "/orgs/{org_id}/applications/{application_id}/stages",
            token,
            **in_application,
        ),
        "api.users": _get("/users/me", "/users/me", token),
        "api.unsubscribe": _get(
            f"/unsubscribe/{fixture.unsubscribe_token}",
            "/unsubscribe/{token}",
            token=fixture.unsubscribe_token,
        ),
        "api.webhooks": _get(f"/orgs/{org}/webhooks", "/orgs/{org_id}/webhooks", token, org_id=org),
    }


def create_fixture() -> Fixture:
    """Signs a person in through the service layer (the code is issued as the notifications consumer
    issues it), creates an org, invites someone and designs an application, against the real store."""
    from plutomi import bootstrap
    from plutomi.domain.email_feedback import unsubscribe_token
    from plutomi.domain.models import Role
    from plutomi.services import applications, auth, invites, orgs

    bootstrap.reset()
    deps = bootstrap.dependencies()
    try:
        email = f"bench-owner-{uuid.uuid4().hex[:10]}@example.com"
        login = auth.verify_login_code(deps, email, auth.issue_login_code(deps, email), "127.0.0.1")
        principal = auth.authenticate(deps, login.token)
        org_id = f"bench-{uuid.uuid4().hex[:10]}"
        orgs.create_org(deps, principal, org_id, "Cold Start Bench")
        invitee = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
        invites.create_invite(deps, principal, org_id, invitee, Role.MEMBER, 7)
        design = applications.create_application(deps, principal, org_id, "Cold Start Driver", "A bench")
        application_id = design.application.id
        applications.create_stage(deps, principal, org_id, application_id, "Screening", None)
        # The link an email to the invitee carries (registered as `email_feedback` does when sending).
        unsubscribe = unsubscribe_token(deps.settings.session_secret, invitee)
        deps.store.unsubscribe_links.register(unsubscribe, invitee, deps.clock.now())
        return Fixture(login.token, org_id, application_id, unsubscribe)
    finally:
        deps.store.client.close()
        bootstrap.reset()


def run_child(
    target: Target,
    work_dir: Path,
    env: dict[str, str],
    python: tuple[str, ...] = (sys.executable,),
    cwd: Path = ROOT,
) -> Sample:
    event_file = work_dir / f"event-{uuid.uuid4().hex}.json"
    event_file.write_text(json.dumps(target.event()))
    command = [
        *(*python, "-c", CHILD, target.module, target.extra_path, str(event_file), target.name),
        ",".join(target.first),
    ]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    wall_ms = (time.perf_counter() - started) * 1000
    event_file.unlink()
    lines = [line for line in finished.stdout.splitlines() if line.startswith(MARKER)]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(
            f"{target.name}: the child failed (exit {finished.returncode})\n"
            f"--- stdout\n{finished.stdout[-3000:]}\n--- stderr\n{finished.stderr[-3000:]}"
        )
    result = json.loads(lines[-1][len(MARKER) :])
    return Sample(
        import_ms=result["import_ms"],
        request_ms=result["request_ms"],
        cpu_ms=result["cpu_ms"],
        wall_ms=wall_ms,
        boto3=result["boto3"],
        modules=result["modules"],
        stages=tuple((name, ms, cpu) for name, ms, cpu in result["stages"]),
    )


def measure_pairs(
    target: Target, baseline: Target, runs: int, work_dir: Path, env: dict[str, str]
) -> tuple[list[Sample], list[Sample]]:
    """`runs` samples of `target`, each right after one of the baseline: on a shared machine a burst
    of load then hits both alike, and the baseline's samples spread over the whole run."""
    run_child(target, work_dir, env)  # warm-up: bytecode caches and the OS page cache, not counted
    pairs = [(run_child(baseline, work_dir, env), run_child(target, work_dir, env)) for _ in range(runs)]
    return [sample for sample, _ in pairs], [sample for _, sample in pairs]


@dataclass(frozen=True)
class Row:
    name: str
    cold_ms: float
    import_ms: float
    request_ms: float
    wall_ms: float
    boto3: bool
    modules: int
    beside_ms: float  # median of the baseline samples taken right before this row's
    ratio: float  # median over the pairs of cold / cold of the baseline beside it
    cpu_ratio: float  # the same with CPU time

    @staticmethod
    def of(name: str, samples: list[Sample], beside: list[Sample]) -> Row:
        return Row(
            name=name,
            cold_ms=statistics.median(s.cold_ms for s in samples),
            import_ms=statistics.median(s.import_ms for s in samples),
            request_ms=statistics.median(s.request_ms for s in samples),
            wall_ms=statistics.median(s.wall_ms for s in samples),
            boto3=any(s.boto3 for s in samples),
            modules=max(s.modules for s in samples),
            beside_ms=statistics.median(b.cold_ms for b in beside),
            ratio=statistics.median(s.cold_ms / b.cold_ms for s, b in zip(samples, beside, strict=True)),
            cpu_ratio=statistics.median(s.cpu_ms / b.cpu_ms for s, b in zip(samples, beside, strict=True)),
        )


def print_table(rows: list[Row], baseline: Row, target: float) -> list[Row]:
    header = (
        f"{'function':<16} {'cold ms':>8} {'import':>8} {'request':>8} {'wall ms':>8} {'modules':>7} "
        f"{'base ms':>8} {'ratio':>6} {'cpu':>6}  verdict"
    )
    print(header)
    print("-" * len(header))
    over = []
    for row in [baseline, *rows]:
        if row is baseline:
            verdict = "(baseline: every sample)"
        elif row.ratio <= target:
            verdict = "PASS"
        else:
            verdict = f"OVER {target:g}x"
            over.append(row)
        if row.boto3:
            verdict += "  (imports boto3!)"
        print(
            f"{row.name:<16} {row.cold_ms:>8.1f} {row.import_ms:>8.1f} {row.request_ms:>8.1f} "
            f"{row.wall_ms:>8.1f} {row.modules:>7} {row.beside_ms:>8.1f} {row.ratio:>5.2f}x "
            f"{row.cpu_ratio:>5.2f}x  {verdict}"
        )
    return over


def print_breakdown(target: Target, baseline: Target, runs: int, work_dir: Path, env: dict[str, str]) -> None:
    """Where a typical function's cold start goes, stage by stage. Each "x" is, like the ratio in the
    table, the median over the samples of the time so far over the baseline sample taken just before."""
    staged = Target(target.name, target.module, target.extra_path, target.event, BREAKDOWN_STAGES)
    beside, samples = measure_pairs(staged, baseline, runs, work_dir, env)
    print(
        f"\nwhere {target.name}'s cold start goes (median of {runs}; each stage imported after the ones "
        f"above it;\nthe baseline beside it: {statistics.median(b.cold_ms for b in beside):.1f} ms)"
    )
    stages = [stage[0] for stage in samples[0].stages] + ["first request"]

    def spent(sample: Sample) -> list[float]:
        return [ms for _, ms, _ in sample.stages] + [sample.request_ms]

    def spent_cpu(sample: Sample) -> list[float]:
        imports = [cpu for _, _, cpu in sample.stages]
        return [*imports, sample.cpu_ms - sum(imports)]

    for index, name in enumerate(stages):
        pairs = list(zip(samples, beside, strict=True))
        ms = statistics.median(spent(s)[index] for s in samples)
        ratio = statistics.median(sum(spent(s)[: index + 1]) / b.cold_ms for s, b in pairs)
        cpu = statistics.median(sum(spent_cpu(s)[: index + 1]) / b.cpu_ms for s, b in pairs)
        label = f"{name} (the rest of its imports)" if name == target.module else name
        print(f"  {label:<55} {ms:7.1f} ms   so far {ratio:4.2f}x the baseline (cpu {cpu:4.2f}x)")
        if name == THIRD_PARTY[-1]:
            print(f"  ^ the third-party floor, before any plutomi code: {ratio:.2f}x (cpu {cpu:.2f}x)")


def print_import_profile(module: str, env: dict[str, str], top: int = 15) -> None:
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
        own, cumulative, name = line.removeprefix("import time:").split("|")
        entries.append((int(cumulative), int(own), name.rstrip()))
    entries.sort(reverse=True)
    print(f"{'cumulative us':>14} {'self us':>9}  module")
    for cumulative_us, self_us, name in entries[:top]:
        print(f"{cumulative_us:>14} {self_us:>9}  {name}")


BYTECODE_FUNCTIONS = ("api.health", "api.orgs", "api.users", "api.docs")


def lambda_like_env(assets: Path, var_runtime: Path) -> dict[str, str]:
    """This process's service endpoints, and a path of only the built assets, as Lambda's; no
    bytecode is written (Lambda's file system is read-only), so no run leaves a cache for the next."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    path = [
        assets / "functions",
        assets / "plutomi-layer" / "python",
        assets / "dependencies-layer" / "python",
    ]
    return env | {
        "PYTHONPATH": os.pathsep.join(str(entry) for entry in [*path, var_runtime]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def bytecode_main(runs: int) -> None:
    """Cold start from the Lambda assets as built (with the runtime's bytecode) against the same
    assets without any .pyc: each pair of fresh `python3.13 -S` processes, without then with."""
    sys.path.insert(0, str(ROOT))  # the stacks and the tests' host build (bench/ is not a package)
    from tests.cdk.host_build import build_for_host, ensure_var_runtime

    embedded.logger.setLevel(logging.WARNING)
    print("building (or reusing) the Lambda assets for this machine under build/lambda-host ...", flush=True)
    build = build_for_host()
    var_runtime = ensure_var_runtime(build)
    version = subprocess.run(
        [build.python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"cold start with and without bytecode: {runs} pairs each, python {version} ({build.python}), "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="plutomi-bytecode-") as tmp:
        work_dir = Path(tmp)
        bare = work_dir / "no-bytecode"
        for asset in ("functions", "plutomi-layer", "dependencies-layer"):
            shutil.copytree(
                build.build_dir / asset, bare / asset, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        assert not list(bare.rglob("*.pyc"))
        for path in bare.rglob("*"):  # read-only, as /opt and /var/task are
            path.chmod(path.stat().st_mode & ~0o222)
        services = EmbeddedServices(work_dir / "services")
        try:
            export_with_fresh_database(services, "bench")
            requests = representative_requests(create_fixture())
            with_pyc = lambda_like_env(build.build_dir, var_runtime)
            without_pyc = lambda_like_env(bare, var_runtime)
            python = (build.python, "-S")
            print(
                f"\n{'function':<12} {'no .pyc ms':>11} {'.pyc ms':>9} {'import':>8} {'ratio':>6} {'cpu':>6}"
            )
            for name in BYTECODE_FUNCTIONS:
                target = Target(name, name, "", requests[name])
                run_child(target, work_dir, with_pyc, python, Path("/"))  # warm-up: the OS page cache
                run_child(target, work_dir, without_pyc, python, Path("/"))
                pairs = [
                    (
                        run_child(target, work_dir, without_pyc, python, Path("/")),
                        run_child(target, work_dir, with_pyc, python, Path("/")),
                    )
                    for _ in range(runs)
                ]
                print(
                    f"{name:<12} {statistics.median(b.cold_ms for b, _ in pairs):>11.1f} "
                    f"{statistics.median(c.cold_ms for _, c in pairs):>9.1f} "
                    f"{statistics.median(c.import_ms for _, c in pairs):>8.1f} "
                    f"{statistics.median(b.cold_ms / c.cold_ms for b, c in pairs):>5.2f}x "
                    f"{statistics.median(b.cpu_ms / c.cpu_ms for b, c in pairs):>5.2f}x",
                    flush=True,
                )
        finally:
            services.stop()
            for path in bare.rglob("*"):
                path.chmod(path.stat().st_mode | 0o200)
    print(
        "\ncold = import + first request in the child (ms, median); import = of that, the import with .pyc;\n"
        "ratio = median over the pairs of cold without .pyc / cold with; cpu = the same with CPU time"
    )
    print(f"load now {os.getloadavg()[0]:.2f}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per function (median taken)")
    parser.add_argument("--target", type=float, default=1.5, help="the ratio to the baseline to stay under")
    parser.add_argument(
        "--breakdown",
        default="api.users",
        help="the function to time stage by stage at the end ('' for none)",
    )
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="instead: a few functions from the built Lambda assets (Python 3.13), .pyc vs none",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.bytecode:
        bytecode_main(args.runs)
        return

    from plutomi.topology import api_functions, module_of

    embedded.logger.setLevel(logging.WARNING)  # no "started nats" lines among the figures
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
            print(
                "starting nats-server, nx-27017 and moto_server; migrating; signing a person in ...",
                flush=True,
            )
            export_with_fresh_database(services, "bench")
            requests = representative_requests(create_fixture())
            missing = [name for name in api_functions() if name not in requests]
            if missing:
                print(f"  SKIPPED (no representative request; add one): {', '.join(missing)}", flush=True)
            env = dict(os.environ)
            baseline_target = Target(
                BASELINE,
                "hello_world",
                str(work_dir),
                lambda: http_event(method="GET", path="/hello", route_key="GET /hello"),
            )
            targets = [
                Target(name, module_of(name), "", requests[name])
                for name in api_functions()
                if name in requests
            ]

            rows: list[Row] = []
            every_baseline: list[Sample] = []
            run_child(baseline_target, work_dir, env)  # warm-up
            for target in targets:
                beside, samples = measure_pairs(target, baseline_target, args.runs, work_dir, env)
                every_baseline += beside
                rows.append(Row.of(target.name, samples, beside))
                print(
                    f"  {target.name:<16} {rows[-1].cold_ms:8.1f} ms   baseline beside it "
                    f"{rows[-1].beside_ms:6.1f} ms   ratio {rows[-1].ratio:5.2f}x",
                    flush=True,
                )

            print(
                f"\nmedians of {args.runs} fresh processes each; cold = import + first request, timed in "
                "the child;\nwall = the whole child process, timed from outside; base ms = the baseline "
                "samples taken each\nright before one of the row's; ratio = median over those pairs of "
                "cold / baseline cold (the verdict);\ncpu = the same ratio with the CPU time of the cold "
                f"section, which a busy machine does not inflate;\nload now {os.getloadavg()[0]:.2f}\n"
            )
            over = print_table(rows, Row.of(BASELINE, every_baseline, every_baseline), args.target)
            if over:
                print(
                    f"\n{len(over)} of {len(rows)} over {args.target:g}x: {', '.join(r.name for r in over)}"
                )
                print_import_profile(module_of(max(over, key=lambda r: r.ratio).name), env)
            else:
                print(f"\nall {len(rows)} functions within {args.target:g}x of the baseline")
            if args.breakdown in requests:
                breakdown = Target(args.breakdown, module_of(args.breakdown), "", requests[args.breakdown])
                print_breakdown(breakdown, baseline_target, args.runs, work_dir, env)
        finally:
            services.stop()
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}")


if __name__ == "__main__":
    main()
