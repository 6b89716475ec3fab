"""Cold start of every function: a fresh Python process imports it and serves one request.

Starts nats-server, nx-27017 and moto_server in a temporary directory, migrates, and signs a person
in who owns an org (with an invite, an open application with a stage, an applicant and their portal
link). Then, for each function in `plutomi.topology.api_functions()` (the API's and the pages'),
runs N fresh `python -c` processes that each import the function's module and call its `handler`
with one representative API Gateway event, asserting a 2xx answer; the scheduled functions are
invoked once with an empty event, the consumers only imported ("import only": their events need
a real batch). Each sample is taken right after one of a bare Powertools hello-world handler (the
baseline) and one of the third-party floor (the same handler answering with a pydantic model that
Powertools validates and, for a function that opens the database, reading one document with pymongo
first: what a function does by hand besides a line of Plutomi), measured the same way in the same run.

"cold" = import of the handler module + its first request, timed with `time.perf_counter()` inside
the child. The ratio is the median, over a function's samples, of its cold time over the cold time
of the baseline sample taken just before it, so a burst of load on a shared machine hits both
(target: at most 1.5x). "cpu" is the same ratio of the CPU time (`time.process_time()`) of that
section, which a busy machine does not inflate. "floor" is the same ratio for the floor samples of
the function's kind (with or without pymongo, `topology.WITHOUT_DATABASE`), pooled over the whole
run; "own" = ratio - floor, Plutomi's own share (target: at most 0.3x; the verdict reads the cpu
figures, which load on a shared machine does not inflate). "wall" = the whole child process, timed from here
(interpreter start-up and shutdown included). Over target, `python -X importtime` of the worst
function shows where its imports go; last, one function is timed stage by stage (Powertools,
pydantic, pymongo, our glue, its own imports, its first request) to show the third-party floor.

    .venv/bin/python bench/cold_start.py [--runs 5] [--target 1.5] [--own-target 0.3] [--only api.users,...]
                                         [--against ../main] [--breakdown api.users]

`--against DIR` times each function from that checkout too (its `layers/plutomi/python` and root on
the path), in the same rounds as this one's, so a before/after comparison shares the load it ran under.

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
from plutomi.web import assets

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

# The third-party floor: the same handler doing by hand what any function does besides a line of
# Plutomi: Powertools validates its answer, a pydantic model (as `create_resolver`'s resolvers do: so
# Powertools loads its OpenAPI models and pydantic builds a schema) and, for a function that opens the
# database, it first reads one document with pymongo from the same server (the client, its connection
# and one round trip, as a function's first request pays them).
FLOOR_WITHOUT_DATABASE = "floor (no db)"
FLOOR = "floor"
FLOOR_NO_DB_SOURCE = '''"""The baseline answering with a pydantic model: the floor without the database."""
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

app = APIGatewayHttpResolver(enable_validation=True)


class Hello(BaseModel):
    message: str


@app.get("/hello")
def hello() -> Hello:
    return Hello(message="hello")


handler = app.resolve
'''
FLOOR_DATABASE_SOURCE = '''"""The floor with the database: one pymongo read, then the pydantic answer."""
import os

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel
from pymongo import MongoClient

app = APIGatewayHttpResolver(enable_validation=True)
client = None


class Hello(BaseModel):
    message: str


@app.get("/hello")
def hello() -> Hello:
    global client
    if client is None:
        client = MongoClient(os.environ["MONGODB_URL"], tz_aware=True, serverSelectionTimeoutMS=3000)
    client[os.environ["MONGODB_DATABASE"]]["items"].find_one({"_id": "hello"})
    return Hello(message="hello")


handler = app.resolve
'''
# floor name -> (module name in the work directory, its source)
FLOOR_HANDLERS = {
    FLOOR_WITHOUT_DATABASE: ("floor", FLOOR_NO_DB_SOURCE),
    FLOOR: ("floor_database", FLOOR_DATABASE_SOURCE),
}

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
event = None
if event_file:
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
status = None
if event is not None:
    response = module.handler(event, LocalContext(function_name))
    status = response.get("statusCode", 200) if isinstance(response, dict) else 200
    assert 200 <= status < 300, f"{{module_name}} answered {{status}}: {{response.get('body')}}"
served = time.perf_counter()
cpu_ms = (time.process_time() - cpu_started) * 1000
print({MARKER!r} + json.dumps({{
    "import_ms": (imported - started) * 1000,
    "request_ms": (served - imported) * 1000,
    "cpu_ms": cpu_ms,
    "stages": stages,
    "status": status,
    "boto3": "boto3" in sys.modules,
    "pymongo": "pymongo" in sys.modules,
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
    pymongo: bool
    modules: int
    stages: tuple[tuple[str, float, float], ...]  # each import timed: (module, wall ms, cpu ms)

    @property
    def cold_ms(self) -> float:
        return self.import_ms + self.request_ms


@dataclass(frozen=True)
class Fixture:
    """A signed-in owner of an org with a pending invite (and its unsubscribe link) and an open
    application with an applicant (and their portal link)."""

    token: str
    org_id: str
    application_id: str
    unsubscribe_token: str
    applicant_id: str
    portal_token: str


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    extra_path: str
    event: Callable[[], dict[str, Any]] | None  # None: import only
    first: tuple[str, ...] = ()


def _json_headers(token: str | None = None) -> list[tuple[str, str]]:
    headers = [("host", "localhost"), ("content-type", "application/json"), ("user-agent", "cold-start")]
    if token:
        headers.append(("authorization", f"Bearer {token}"))
    return headers


def _get(path: str, route: str, bearer: str | None = None, **params: str) -> Callable[[], dict[str, Any]]:
    """A GET with the owner's bearer token (when given); pages read it as the API does."""
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


def _empty_event() -> dict[str, Any]:
    """What a scheduled function is invoked with (EventBridge's event is not read)."""
    return {}


def representative_requests(fixture: Fixture) -> dict[str, Callable[[], dict[str, Any]]]:
    """One typical request per HTTP function (a read where the function has one); each must be 2xx."""
    org, token = fixture.org_id, fixture.token
    applications = f"/orgs/{org}/applications"
    application = f"{applications}/{fixture.application_id}"
    in_application = {"org_id": org, "application_id": fixture.application_id}
    applicant = {"org_id": org, "applicant_id": fixture.applicant_id}
    app_pages = f"/app/{org}"
    stylesheet = assets.url("app.css")  # versioned: /static/app.<hash>.css
    return {
        "api.documents": _get(
            f"/orgs/{org}/applicants/{fixture.applicant_id}/documents",
            "/orgs/{org_id}/applicants/{applicant_id}/documents",
            token,
            **applicant,
        ),
        "api.email_templates": _get(
            f"/orgs/{org}/email-templates", "/orgs/{org_id}/email-templates", token, org_id=org
        ),
        "api.rejection_reasons": _get(
            f"/orgs/{org}/rejection-reasons", "/orgs/{org_id}/rejection-reasons", token, org_id=org
        ),
        "web.applicants": _get(
            f"{app_pages}/applicants/{fixture.applicant_id}",
            "/app/{org_id}/applicants/{applicant_id}",
            token,
            **applicant,
        ),
        "web.applications": _get(app_pages, "/app/{org_id}", token, org_id=org),
        "web.auth": _get("/sign-in", "/sign-in"),
        "web.board": _get(
            f"{app_pages}/applications/{fixture.application_id}/board",
            "/app/{org_id}/applications/{application_id}/board",
            token,
            **in_application,
        ),
        "web.builder": _get(
            f"{app_pages}/applications/{fixture.application_id}",
            "/app/{org_id}/applications/{application_id}",
            token,
            **in_application,
        ),
        "web.careers": _get(f"/careers/{org}", "/careers/{org_id}", org_id=org),
        "web.email_templates": _get(
            f"{app_pages}/settings/email-templates",
            "/app/{org_id}/settings/email-templates",
            token,
            org_id=org,
        ),
        "web.invitations": _get("/invitations", "/invitations", token),
        "web.orgs": _get("/app", "/app", token),
        "web.portal": _get(f"/portal/{fixture.portal_token}", "/portal/{token}", token=fixture.portal_token),
        "web.settings": _get(f"{app_pages}/settings", "/app/{org_id}/settings", token, org_id=org),
        "web.static": _get(stylesheet, "/static/{asset}", asset=stylesheet.removeprefix("/static/")),
        "web.team": _get(f"{app_pages}/team", "/app/{org_id}/team", token, org_id=org),
        "web.webhooks": _get(
            f"{app_pages}/settings/webhooks", "/app/{org_id}/settings/webhooks", token, org_id=org
        ),
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
    from plutomi.domain.pipeline import ApplicationStatus
    from plutomi.services import applicants, applications, auth, invites, orgs

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
        applications.update_application(
            deps, principal, org_id, application_id, status=ApplicationStatus.OPEN
        )
        applicant_email = f"applicant-{uuid.uuid4().hex[:8]}@example.com"
        applicants.apply(deps, org_id, application_id, applicant_email, "Cold", "Start", "127.0.0.1")
        applicant = deps.store.applicants.get_by_email(org_id, application_id, applicant_email)
        assert applicant is not None
        link = applicants.issue_portal_link(deps, org_id, applicant.id)
        assert link is not None
        # The link an email to the invitee carries (registered as `email_feedback` does when sending).
        unsubscribe = unsubscribe_token(deps.settings.session_secret, invitee)
        deps.store.unsubscribe_links.register(unsubscribe, invitee, deps.clock.now())
        portal_token = link[2].rsplit("/", 1)[-1]
        return Fixture(login.token, org_id, application_id, unsubscribe, applicant.id, portal_token)
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
    if target.event is not None:
        event_file.write_text(json.dumps(target.event()))
    event_argument = str(event_file) if target.event is not None else ""
    command = [
        *(*python, "-c", CHILD, target.module, target.extra_path, event_argument, target.name),
        ",".join(target.first),
    ]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    wall_ms = (time.perf_counter() - started) * 1000
    event_file.unlink(missing_ok=True)
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
        pymongo=result["pymongo"],
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
class Checkout:
    """A tree of the code whose functions are timed: this one, or another (`--against`)."""

    label: str
    env: dict[str, str]
    cwd: Path


def checkout_at(root: Path, label: str, env: dict[str, str]) -> Checkout:
    path = os.pathsep.join(str(entry) for entry in (root / "layers" / "plutomi" / "python", root))
    return Checkout(label, env | {"PYTHONPATH": path}, root)


def measure_beside(
    target: Target,
    checkouts: list[Checkout],
    baseline: Target,
    floor: Target,
    runs: int,
    work_dir: Path,
    env: dict[str, str],
) -> tuple[list[Sample], list[Sample], list[list[Sample]]]:
    """As `measure_pairs`, with a sample of the third-party floor after the baseline's, then one of
    the target from each checkout (in turns, first one first, then the other): (baseline samples,
    floor samples, each checkout's target samples)."""
    for checkout in checkouts:  # warm-up, not counted
        run_child(target, work_dir, checkout.env, cwd=checkout.cwd)
    beside, floors = [], []
    samples: list[list[Sample]] = [[] for _ in checkouts]
    for round_number in range(runs):
        beside.append(run_child(baseline, work_dir, env))
        floors.append(run_child(floor, work_dir, env))
        order = list(enumerate(checkouts))
        for index, checkout in order if round_number % 2 == 0 else reversed(order):
            samples[index].append(run_child(target, work_dir, checkout.env, cwd=checkout.cwd))
    return beside, floors, samples


def _ratios(samples: list[Sample], beside: list[Sample]) -> tuple[list[float], list[float]]:
    """Each sample over the baseline sample taken just before it: (wall-clock, CPU)."""
    pairs = list(zip(samples, beside, strict=True))
    return [s.cold_ms / b.cold_ms for s, b in pairs], [s.cpu_ms / b.cpu_ms for s, b in pairs]


@dataclass(frozen=True)
class Row:
    name: str
    cold_ms: float
    import_ms: float
    request_ms: float
    wall_ms: float
    boto3: bool
    pymongo: bool
    modules: int
    beside_ms: float  # median of the baseline samples taken right before this row's
    ratio: float  # median over the pairs of cold / cold of the baseline beside it
    cpu_ratio: float  # the same with CPU time
    floor: str = ""  # the floor this row is set against (FLOOR or FLOOR_WITHOUT_DATABASE)
    import_only: bool = False

    @staticmethod
    def of(
        name: str, samples: list[Sample], beside: list[Sample], floor: str = "", import_only: bool = False
    ) -> Row:
        ratios, cpu_ratios = _ratios(samples, beside)
        return Row(
            name=name,
            cold_ms=statistics.median(s.cold_ms for s in samples),
            import_ms=statistics.median(s.import_ms for s in samples),
            request_ms=statistics.median(s.request_ms for s in samples),
            wall_ms=statistics.median(s.wall_ms for s in samples),
            boto3=any(s.boto3 for s in samples),
            pymongo=any(s.pymongo for s in samples),
            modules=max(s.modules for s in samples),
            beside_ms=statistics.median(b.cold_ms for b in beside),
            ratio=statistics.median(ratios),
            cpu_ratio=statistics.median(cpu_ratios),
            floor=floor,
            import_only=import_only,
        )


def print_table(
    rows: list[Row], baseline: Row, floors: dict[str, tuple[float, float]], own_target: float
) -> list[Row]:
    """The table; `floors` maps each floor to its pooled (wall, cpu) ratio. Returns the rows whose
    own share (cpu) is over `own_target`."""
    header = (
        f"{'function':<28} {'cold ms':>8} {'import':>7} {'request':>7} {'modules':>7} {'base ms':>7} "
        f"{'ratio':>6} {'cpu':>6} {'floor':>6} {'f.cpu':>6} {'own':>6} {'o.cpu':>6}  verdict (own cpu)"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{baseline.name:<28} {baseline.cold_ms:>8.1f} {baseline.import_ms:>7.1f} "
        f"{baseline.request_ms:>7.1f} {baseline.modules:>7} {baseline.beside_ms:>7.1f} "
        f"{1:>5.2f}x {1:>5.2f}x  (every sample)"
    )
    over = []
    for row in rows:
        floor, floor_cpu = floors[row.floor]
        own, own_cpu = row.ratio - floor, row.cpu_ratio - floor_cpu
        if own_cpu <= own_target:
            verdict = "PASS"
        else:
            verdict = f"OVER {own_target:g}x"
            over.append(row)
        if row.floor == FLOOR_WITHOUT_DATABASE:
            verdict += " (no db)" + ("  (imports pymongo!)" if row.pymongo else "")
        if row.import_only:
            verdict += " (import only)"
        if row.boto3:
            verdict += "  (imports boto3)"
        print(
            f"{row.name:<28} {row.cold_ms:>8.1f} {row.import_ms:>7.1f} {row.request_ms:>7.1f} "
            f"{row.modules:>7} {row.beside_ms:>7.1f} {row.ratio:>5.2f}x {row.cpu_ratio:>5.2f}x "
            f"{floor:>5.2f}x {floor_cpu:>5.2f}x {own:>5.2f}x {own_cpu:>5.2f}x  {verdict}"
        )
    return over


def print_comparison(
    before: list[Row], after: list[Row], floors: dict[str, tuple[float, float]], own_target: float
) -> None:
    """Plutomi's own share (cpu) of each function in the other checkout and in this one, side by side."""
    print(f"\nown share (cpu ratio - floor), against -> this; target {own_target:g}x")
    for old, new in zip(before, after, strict=True):
        floor = floors[new.floor][1]
        own_before, own_after = old.cpu_ratio - floor, new.cpu_ratio - floor
        verdict = "PASS" if own_after <= own_target else f"OVER {own_target:g}x"
        print(
            f"  {new.name:<28} {own_before:5.2f}x -> {own_after:5.2f}x   "
            f"(cpu {old.cpu_ratio:5.2f}x -> {new.cpu_ratio:5.2f}x, modules {old.modules} -> {new.modules})  "
            f"{verdict}"
        )


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
        "--own-target",
        type=float,
        default=0.3,
        help="Plutomi's own share (ratio - the third-party floor, cpu) to stay under",
    )
    parser.add_argument(
        "--against",
        default="",
        help="another checkout (e.g. main's) whose functions are timed too, interleaved, in the same run",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated functions to measure (default: every function)"
    )
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

    from plutomi.topology import WITHOUT_DATABASE, all_functions, api_functions, module_of

    embedded.logger.setLevel(logging.WARNING)  # no "started nats" lines among the figures
    print(
        f"cold start: {args.runs} runs each, python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    only = set(filter(None, args.only.split(",")))
    with tempfile.TemporaryDirectory(prefix="plutomi-cold-start-") as tmp:
        work_dir = Path(tmp)
        (work_dir / "hello_world.py").write_text(HELLO_WORLD)
        for module, source in FLOOR_HANDLERS.values():
            (work_dir / f"{module}.py").write_text(source)
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

            def hello() -> dict[str, Any]:
                return http_event(method="GET", path="/hello", route_key="GET /hello")

            baseline_target = Target(BASELINE, "hello_world", str(work_dir), hello)
            floor_targets = {
                name: Target(name, module, str(work_dir), hello)
                for name, (module, _) in FLOOR_HANDLERS.items()
            }
            targets = [
                Target(name, module_of(name), "", requests[name])
                if name in requests
                else Target(
                    name, module_of(name), "", _empty_event if name.startswith("scheduled.") else None
                )
                for name in all_functions()
                if name not in missing
            ]
            targets = [t for t in targets if not only or t.name in only]

            checkouts = [checkout_at(ROOT, "this", env)]
            if args.against:
                checkouts.insert(0, checkout_at(Path(args.against).resolve(), "against", env))
            rows_of: dict[str, list[Row]] = {checkout.label: [] for checkout in checkouts}
            every_baseline: list[Sample] = []
            floor_ratios: dict[str, tuple[list[float], list[float]]] = {
                name: ([], []) for name in FLOOR_HANDLERS
            }
            run_child(baseline_target, work_dir, env)  # warm-up
            for target in targets:
                floor = FLOOR_WITHOUT_DATABASE if target.name in WITHOUT_DATABASE else FLOOR
                beside, floors, samples = measure_beside(
                    target, checkouts, baseline_target, floor_targets[floor], args.runs, work_dir, env
                )
                every_baseline += beside
                ratios, cpu_ratios = _ratios(floors, beside)
                floor_ratios[floor][0].extend(ratios)
                floor_ratios[floor][1].extend(cpu_ratios)
                floor_now = (
                    f"floor {statistics.median(ratios):5.2f}x (cpu {statistics.median(cpu_ratios):5.2f}x)"
                )
                for checkout, checkout_samples in zip(checkouts, samples, strict=True):
                    row = Row.of(target.name, checkout_samples, beside, floor, target.event is None)
                    rows_of[checkout.label].append(row)
                    print(
                        f"  {target.name:<28} {checkout.label:<8} {row.cold_ms:8.1f} ms   baseline beside it "
                        f"{row.beside_ms:6.1f} ms   ratio {row.ratio:5.2f}x (cpu {row.cpu_ratio:5.2f}x)   "
                        f"{floor_now}",
                        flush=True,
                    )

            pooled = {
                name: (statistics.median(wall), statistics.median(cpu))
                for name, (wall, cpu) in floor_ratios.items()
                if wall
            }
            print(
                f"\nmedians of {args.runs} fresh processes each; cold = import + first request, timed in "
                "the child;\nbase ms = the baseline samples taken each right before one of the row's; "
                "ratio = median over\nthose pairs of cold / baseline cold; cpu = the same ratio with the CPU "
                "time of the cold section,\nwhich a busy machine does not inflate; floor (f.cpu) = the same "
                "ratios of the third-party floor\n(Powertools validating a pydantic model, a pymongo read; "
                "no pymongo for functions without the database), pooled\nover every floor sample of its "
                "kind; own (o.cpu) = "
                f"ratio - floor: Plutomi's own share;\nload now {os.getloadavg()[0]:.2f}\n"
            )
            for name, (wall, cpu) in pooled.items():
                print(f"{name}: {wall:.2f}x the baseline (cpu {cpu:.2f}x)")
            print()
            baseline_row = Row.of(BASELINE, every_baseline, every_baseline)
            for checkout in checkouts:
                rows = rows_of[checkout.label]
                where = args.against if checkout.label == "against" else f"this checkout ({ROOT})"
                print(f"\n{where}:\n")
                over = print_table(rows, baseline_row, pooled, args.own_target)
                over_total = [row.name for row in rows if row.cpu_ratio > args.target]
                print(
                    f"\n{len(over_total)} of {len(rows)} over {args.target:g}x of the baseline in all (cpu)"
                )
                if over:
                    print(
                        f"{len(over)} of {len(rows)} with an own share over {args.own_target:g}x (cpu): "
                        f"{', '.join(r.name for r in over)}"
                    )
                else:
                    print(f"all {len(rows)} functions with an own share within {args.own_target:g}x (cpu)")
            if len(checkouts) == 2:
                print_comparison(rows_of["against"], rows_of["this"], pooled, args.own_target)
            this_over = [
                row for row in rows_of["this"] if row.cpu_ratio - pooled[row.floor][1] > args.own_target
            ]
            if this_over:
                worst = max(this_over, key=lambda r: r.cpu_ratio - pooled[r.floor][1])
                print_import_profile(module_of(worst.name), env)
            if args.breakdown in requests and (not only or args.breakdown in only):
                breakdown = Target(args.breakdown, module_of(args.breakdown), "", requests[args.breakdown])
                print_breakdown(breakdown, baseline_target, args.runs, work_dir, env)
        finally:
            services.stop()
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}")


if __name__ == "__main__":
    main()
