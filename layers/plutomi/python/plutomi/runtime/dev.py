"""`plutomi dev`: the embedded services, `migrate`, the gateway, a bridge per consumer and a poller per
SQS consumer (SES feedback), in one process. Every handler is imported in the main thread before any
of them takes work (`functions.preload`): they all call handlers from threads. One Ctrl-C stops
everything cleanly; data under `.plutomi/` survives a restart.

`plutomi dev --only PARTS` runs some of it (`Parts`), so an operator can run or restart a part on its
own: without `services` in PARTS, against the services the settings name (another `plutomi dev`'s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from plutomi.observability import runtime_logger
from plutomi.runtime.embedded import EmbeddedServices, Endpoints
from plutomi.topology import SCHEDULED, SQS_CONSUMERS, Scheduled, SqsConsumer, Tier, all_tiers

if TYPE_CHECKING:
    from plutomi.config import Settings

# What `--only` names as a whole; a bridge tier, a poller or a schedule may also be named on its own.
GROUPS = ("services", "gateway", "relay", "bridges", "pollers", "jobs")
# The local mailbox beside the app (runtime/mailbox.py).
MAILBOX_PORT = int(os.environ.get("PLUTOMI_MAILBOX_PORT", "8025"))


@dataclass(frozen=True)
class Parts:
    """What `plutomi dev` runs. `services`: start the embedded services and migrate. `gateway`: the
    API, with the outbox relay inside it only when `relay` runs too. `relay`: the outbox relay.
    `tiers`, `pollers`, `jobs`: bridges, SQS pollers and scheduled functions."""

    services: bool
    gateway: bool
    relay: bool
    tiers: tuple[Tier, ...]
    pollers: tuple[SqsConsumer, ...]
    jobs: tuple[Scheduled, ...]

    @classmethod
    def everything(cls) -> Parts:
        return cls.named(",".join(GROUPS))

    @classmethod
    def named(cls, text: str) -> Parts:
        """`--only`'s comma-separated names; a ValueError lists the valid ones for an unknown one."""
        tiers = {tier.durable: tier for tier in all_tiers() if tier.function}
        pollers = {consumer.name: consumer for consumer in SQS_CONSUMERS}
        jobs = {job.name: job for job in SCHEDULED}
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in {*GROUPS, *tiers, *pollers, *jobs}]
        if unknown or not names:
            valid = (
                f"the parts are {', '.join(GROUPS)}, or one bridge ({', '.join(tiers)}), "
                f"poller ({', '.join(pollers)}) or schedule ({', '.join(jobs)})"
            )
            which = f"unknown part{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            raise ValueError(f"{which if unknown else 'name at least one part'}; {valid}")
        chosen = set(names)

        def some(group: str, known: dict[str, Any]) -> tuple[Any, ...]:
            return tuple(part for name, part in known.items() if group in chosen or name in chosen)

        return cls(
            services="services" in chosen,
            gateway="gateway" in chosen,
            relay="relay" in chosen,
            tiers=some("bridges", tiers),
            pollers=some("pollers", pollers),
            jobs=some("jobs", jobs),
        )


def export_endpoints(services: EmbeddedServices) -> dict[str, str]:
    """Starts what is missing and points this process (and its handlers) at it."""
    return _point_at(services.start(), nx_27017="mongodb" in services.started())


def export_running_endpoints(settings: Settings) -> dict[str, str]:
    """Points this process at the services the settings name, already running (another `plutomi
    dev`'s, or the services named by URL); the MongoDB not named by URL is the embedded nx-27017."""
    endpoints = Endpoints(settings.nats_url, settings.mongodb_url, settings.aws_endpoint_url or "")
    return _point_at(endpoints, nx_27017="mongodb" not in settings.external_services)


def _point_at(endpoints: Endpoints, nx_27017: bool) -> dict[str, str]:
    values = {
        "NATS_URL": endpoints.nats_url,
        "MONGODB_URL": endpoints.mongodb_url,
        "AWS_ENDPOINT_URL": endpoints.aws_endpoint_url,
    }
    values = {name: url for name, url in values.items() if url}
    os.environ.update(values)
    # moto accepts any credentials; real ones must never be needed locally.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    if nx_27017:
        os.environ["MONGODB_TRANSACTIONS"] = "off"  # nx-27017: see MongoStore.transaction
    return values


def unreachable(values: dict[str, str]) -> list[str]:
    """The services among `values` (as `_point_at` returns them) that nothing answers at: a TCP
    connection to their host and port is refused or times out (URLs without one host and port, such as
    a replica set's list, are not tried)."""
    silent = []
    for name, url in values.items():
        try:
            address = urlsplit(url)
            host, port = address.hostname, address.port
        except ValueError:
            continue
        if host is None or port is None:
            continue
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError:
            silent.append(f"{url} ({name})")
    return silent


def export_with_fresh_database(services: EmbeddedServices, label: str) -> dict[str, str]:
    """`export_endpoints`, then a database of this process's own (`plutomi_<label>_<random>`),
    migrated: what a test session or a benchmark starts from. Overrides already made stay."""
    from plutomi import bootstrap
    from plutomi.config import get_settings
    from plutomi.runtime.migrate import migrate

    endpoints = export_endpoints(services)
    os.environ["MONGODB_DATABASE"] = f"plutomi_{label}_{uuid.uuid4().hex[:8]}"
    bootstrap.reset(keep_overrides=True)
    migrate(get_settings(), say=lambda _: None)
    return endpoints


def embedded_services(data_dir: Path) -> EmbeddedServices:
    """The services `plutomi dev` runs, from the same settings every other command reads: a service
    the environment names by URL is used as it is; the others start on their PLUTOMI_*_PORT."""
    from plutomi.config import load_settings

    settings = load_settings()
    given = settings.external_services
    return EmbeddedServices(
        data_dir,
        nats_url=settings.nats_url if "nats" in given else None,
        mongodb_url=settings.mongodb_url if "mongodb" in given else None,
        aws_endpoint_url=settings.aws_endpoint_url if "aws" in given else None,
        nats_port=settings.embedded_ports["nats"],
        mongodb_port=settings.embedded_ports["mongodb"],
        aws_port=settings.embedded_ports["aws"],
    )


def run_dev(data_dir: Path, host: str, port: int, parts: Parts | None = None) -> None:
    from plutomi.bootstrap import close, reset
    from plutomi.config import get_settings, load_settings
    from plutomi.runtime.migrate import migrate

    parts = parts or Parts.everything()
    services = embedded_services(data_dir)
    os.environ.setdefault("PLUTOMI_BASE_URL", f"http://{'localhost' if host == '127.0.0.1' else host}:{port}")
    if not parts.services:
        endpoints, started = export_running_endpoints(load_settings()), set()
        silent = unreachable(endpoints)
        if silent:
            raise SystemExit(
                f"plutomi dev: nothing answers at {', '.join(silent)}; start the services first "
                "(`plutomi dev --only services`, with the same PLUTOMI_*_PORT) or add services to --only"
            )
    try:
        if parts.services:
            print(f"plutomi dev: starting services under {data_dir}/ ...", flush=True)
            endpoints = export_endpoints(services)
            started = set(services.started())
        reset()
        for name, key in (("nats", "NATS_URL"), ("mongodb", "MONGODB_URL"), ("aws", "AWS_ENDPOINT_URL")):
            origin = "embedded" if name in started else "external" if parts.services else "running"
            print(f"  {name:<8} {endpoints.get(key, '-')}  ({origin})", flush=True)
        if parts.services:
            print("plutomi dev: migrating ...", flush=True)
            migrate(get_settings(), say=lambda line: print(f"  {line}", flush=True))
        asyncio.run(_serve(host, port, parts))
    finally:
        print("plutomi dev: stopping ...", flush=True)
        close()  # the handlers' warm clients first: NATS going away under them is no news
        services.stop()
        print("plutomi dev: stopped", flush=True)


class _Server:
    """uvicorn's server with our signal handling: the dev loop owns SIGINT and SIGTERM."""

    @staticmethod
    def quiet(config: Any) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        return Server(config)

    @staticmethod
    def create(host: str, port: int, relay: bool) -> Any:
        from plutomi.runtime.gateway import Gateway, gateway_config

        return _Server.quiet(gateway_config(host, port, app=Gateway(relay=relay)))

    @staticmethod
    def mailbox(host: str, aws_endpoint_url: str | None) -> Any:
        """The local mailbox (runtime/mailbox.py) on PLUTOMI_MAILBOX_PORT, unless that port is taken
        (then the app runs without it and says so)."""
        import uvicorn

        from plutomi.runtime.mailbox import mailbox_app

        if not aws_endpoint_url:
            return None
        with socket.socket() as probe:
            try:
                probe.bind((host, MAILBOX_PORT))
            except OSError:
                print(
                    f"plutomi dev: port {MAILBOX_PORT} is taken: no local mailbox (`plutomi mail` reads it)"
                )
                return None
        app = mailbox_app(aws_endpoint_url)
        return _Server.quiet(uvicorn.Config(app, host=host, port=MAILBOX_PORT, log_level="warning"))


async def _serve(host: str, port: int, parts: Parts) -> None:
    from plutomi.bootstrap import dependencies
    from plutomi.config import get_settings
    from plutomi.runtime.bridge import Bridge
    from plutomi.runtime.functions import preload
    from plutomi.runtime.relay import OutboxRelay
    from plutomi.runtime.sqs_poller import SqsPoller, fed_consumers
    from plutomi.topology import all_functions

    settings = get_settings()
    stopping = asyncio.Event()
    if parts.gateway or parts.tiers or parts.pollers or parts.jobs:
        preload(all_functions())  # the gateway's, the bridges', the pollers' and the schedules' handlers
    server = _Server.create(host, port, relay=parts.relay) if parts.gateway else None
    # With the gateway, the relay rides inside it, as on K3S without PLUTOMI_GATEWAY_RELAY=off.
    relay = OutboxRelay(dependencies().store, settings.nats_url) if parts.relay and server is None else None
    bridges = [Bridge(tier, settings.nats_url) for tier in parts.tiers]
    # As Lambda's event source mapping: failures wait out the queue's visibility timeout.
    pollers = [
        SqsPoller.for_consumer(consumer, settings) for consumer in fed_consumers(parts.pollers, settings)
    ]

    def shut_down() -> None:
        if server is not None:
            if server.should_exit:  # a second Ctrl-C: stop waiting for in-flight requests
                server.force_exit = True
            server.should_exit = True
        stopping.set()
        for bridge in bridges:
            bridge.stop()
        for poller in pollers:
            poller.stop()
        if relay is not None:
            relay.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, shut_down)
    relay_task = None if relay is None else asyncio.create_task(relay.run(), name="outbox-relay")
    if relay is not None or (server is not None and parts.relay):
        print(f"  relay    outbox -> {settings.nats_url}", flush=True)
    bridge_tasks = [asyncio.create_task(bridge.run(), name=f"bridge-{bridge.name}") for bridge in bridges]
    for bridge in bridges:
        subjects = ", ".join(bridge.tier.filter_subjects)
        print(f"  bridge   {bridge.name} <- {bridge.tier.stream}: {subjects}", flush=True)
    poller_tasks = [asyncio.create_task(poller.run(), name=f"poller-{poller.name}") for poller in pollers]
    for poller in pollers:
        print(f"  poller   {poller.name} <- sqs {poller.queue_name}: {poller.consumer.function}", flush=True)
    schedules = [asyncio.create_task(_every(job)) for job in parts.jobs]
    for job in parts.jobs:
        print(f"  schedule {job.name}: {job.function} every {job.every_minutes} min", flush=True)
    mailbox = _Server.mailbox(host, settings.aws_endpoint_url) if server is not None else None
    if server is not None:
        shown = "localhost" if host == "127.0.0.1" else host
        print(f"plutomi dev: open http://{shown}:{port} in a browser (the API: http://{shown}:{port}/docs)")
        if mailbox is not None:
            print(
                f"plutomi dev: the emails it sends (sign-in codes, portal links): http://{shown}:{MAILBOX_PORT}"
            )
        print("plutomi dev: Ctrl-C stops", flush=True)
        mailbox_task = None if mailbox is None else asyncio.create_task(mailbox.serve(), name="mailbox")
        await server.serve()  # returns once in-flight requests finished
        shut_down()
        if mailbox is not None and mailbox_task is not None:
            mailbox.should_exit = True
            await mailbox_task
    else:
        print("plutomi dev: running (Ctrl-C stops)", flush=True)
        await stopping.wait()
    for schedule in schedules:
        schedule.cancel()
    if relay_task is not None:
        await _report_end("relay", "outbox", relay_task)
    for bridge, task in zip(bridges, bridge_tasks, strict=True):
        await _report_end("bridge", bridge.name, task)
    for poller, task in zip(pollers, poller_tasks, strict=True):
        await _report_end("poller", poller.name, task)


async def _report_end(kind: str, name: str, task: asyncio.Task[None]) -> None:
    try:
        await task
    except (Exception, asyncio.CancelledError) as error:
        print(f"  {kind} {name} ended with {error!r}", flush=True)


async def _every(job: Scheduled) -> None:
    """Runs a scheduled function like an EventBridge schedule would, logging rather than dying on errors."""
    from plutomi.runtime.aws_events import schedule_event
    from plutomi.runtime.functions import invoke

    while True:
        await asyncio.sleep(job.every_minutes * 60)
        try:
            await asyncio.to_thread(invoke, job.function, schedule_event(f"plutomi-{job.name}"))
        except Exception:
            runtime_logger.exception("scheduled function failed", extra={"function": job.function})
