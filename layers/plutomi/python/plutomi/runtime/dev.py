"""`plutomi dev`: the embedded services, `migrate`, the gateway, a bridge per consumer and a poller per
SQS consumer (SES feedback), in one process. Every handler is imported in the main thread before any
of them takes work (`functions.preload`): they all call handlers from threads. One Ctrl-C stops
everything cleanly; data under `.plutomi/` survives a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plutomi.observability import runtime_logger
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.topology import SCHEDULED, Scheduled


def export_endpoints(services: EmbeddedServices) -> dict[str, str]:
    """Starts what is missing and points this process (and its handlers) at it."""
    endpoints = services.start()
    values = {
        "NATS_URL": endpoints.nats_url,
        "MONGODB_URL": endpoints.mongodb_url,
        "AWS_ENDPOINT_URL": endpoints.aws_endpoint_url,
    }
    os.environ.update(values)
    # moto accepts any credentials; real ones must never be needed locally.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    if "mongodb" in services.started():
        os.environ["MONGODB_TRANSACTIONS"] = "off"  # nx-27017: see MongoStore.transaction
    return values


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


def run_dev(data_dir: Path, host: str, port: int) -> None:
    from plutomi.bootstrap import close, reset
    from plutomi.config import get_settings
    from plutomi.runtime.migrate import migrate

    services = embedded_services(data_dir)
    os.environ.setdefault("PLUTOMI_BASE_URL", f"http://{'localhost' if host == '127.0.0.1' else host}:{port}")
    print(f"plutomi dev: starting services under {data_dir}/ ...", flush=True)
    try:
        endpoints = export_endpoints(services)
        reset()
        started = set(services.started())
        for name, url in (("nats", endpoints["NATS_URL"]), ("mongodb", endpoints["MONGODB_URL"]),
                          ("aws", endpoints["AWS_ENDPOINT_URL"])):  # fmt: skip
            origin = "embedded" if name in started else "external"
            print(f"  {name:<8} {url}  ({origin})", flush=True)
        print("plutomi dev: migrating ...", flush=True)
        migrate(get_settings(), say=lambda line: print(f"  {line}", flush=True))
        asyncio.run(_serve(host, port))
    finally:
        print("plutomi dev: stopping services ...", flush=True)
        close()  # the handlers' warm clients first: NATS going away under them is no news
        services.stop()
        print("plutomi dev: stopped", flush=True)


class _Server:
    """uvicorn's server with our signal handling: the dev loop owns SIGINT and SIGTERM."""

    @staticmethod
    def create(host: str, port: int) -> Any:
        import uvicorn

        from plutomi.runtime.gateway import Gateway, gateway_config

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        return Server(gateway_config(host, port, app=Gateway()))


async def _serve(host: str, port: int) -> None:
    from plutomi.config import get_settings
    from plutomi.runtime.bridge import Bridge
    from plutomi.runtime.functions import preload
    from plutomi.runtime.sqs_poller import SqsPoller
    from plutomi.topology import SQS_CONSUMERS, all_functions, all_tiers

    settings = get_settings()
    preload(all_functions())  # the gateway's, the bridges', the pollers' and the schedules' handlers
    server = _Server.create(host, port)
    bridges = [Bridge(tier, settings.nats_url) for tier in all_tiers() if tier.function]
    # As Lambda's event source mapping: failures wait out the queue's visibility timeout.
    pollers = [SqsPoller.for_consumer(consumer, settings) for consumer in SQS_CONSUMERS]

    def shut_down() -> None:
        if server.should_exit:  # a second Ctrl-C: stop waiting for in-flight requests
            server.force_exit = True
        server.should_exit = True
        for bridge in bridges:
            bridge.stop()
        for poller in pollers:
            poller.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, shut_down)
    bridge_tasks = [asyncio.create_task(bridge.run(), name=f"bridge-{bridge.name}") for bridge in bridges]
    for bridge in bridges:
        subjects = ", ".join(bridge.tier.filter_subjects)
        print(f"  bridge   {bridge.name} <- {bridge.tier.stream}: {subjects}", flush=True)
    poller_tasks = [asyncio.create_task(poller.run(), name=f"poller-{poller.name}") for poller in pollers]
    for poller in pollers:
        print(f"  poller   {poller.name} <- sqs {poller.queue_name}: {poller.consumer.function}", flush=True)
    schedules = [asyncio.create_task(_every(job)) for job in SCHEDULED]
    for job in SCHEDULED:
        print(f"  schedule {job.name}: {job.function} every {job.every_minutes} min", flush=True)
    print(
        f"plutomi dev: API on http://{host}:{port}  (docs: http://{host}:{port}/docs; Ctrl-C stops)",
        flush=True,
    )
    await server.serve()  # returns once in-flight requests finished
    shut_down()
    for schedule in schedules:
        schedule.cancel()
    results = await asyncio.gather(*bridge_tasks, return_exceptions=True)
    for bridge, result in zip(bridges, results, strict=True):
        if isinstance(result, BaseException):
            print(f"  bridge {bridge.name} ended with {result!r}", flush=True)
    polled = await asyncio.gather(*poller_tasks, return_exceptions=True)
    for poller, outcome in zip(pollers, polled, strict=True):
        if isinstance(outcome, BaseException):
            print(f"  poller {poller.name} ended with {outcome!r}", flush=True)


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
