"""The K3S workers' probes (`runtime/probe.py`): `/healthz` is readiness (connected), `/livez` is
liveness (the work loop came round within its stall bound). A bridge whose handler hangs is reported
stalled, so Kubernetes restarts it, while it stays ready; and the SES feedback poller, run as its K3S
Deployment runs it (`plutomi ses poll --probe-port`), handles a bounce and is unready while its queue
cannot be read."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from plutomi.config import get_settings
from plutomi.domain.email_feedback import SuppressionScope
from plutomi.runtime.bridge import Bridge
from plutomi.runtime.embedded import free_port
from plutomi.runtime.ses_feedback_local import simulate
from plutomi.services.ports import Dependencies
from plutomi.topology import EVENTS_STREAM, Consumer
from tests.conftest import unique_email
from tests.integration.test_bridge_status import probe, wait_until
from tests.support.cli import ROOT
from tests.support.jetstream import connect_with_new_consumer, publish_events
from tests.support.numbered import numbered

STALL_AFTER_SECONDS = 1.0


async def answer(port: int, path: str) -> httpx.Response:
    return await asyncio.to_thread(probe, port, path)


async def until(port: int, path: str, status: int, timeout: float = 15.0) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + timeout
    while (response := await answer(port, path)).status_code != status:
        assert asyncio.get_running_loop().time() < deadline, f"{path} never answered {status}"
        await asyncio.sleep(0.1)
    return response


def test_a_bridge_whose_handler_hangs_is_stalled_on_livez_yet_ready(
    services: dict[str, str], deps: Dependencies
) -> None:
    consumer = Consumer(f"test-stall-{uuid.uuid4().hex[:8]}", "unused", ("org.updated",), batch_size=1)
    entered, release = threading.Event(), threading.Event()

    def target(sqs_event: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(30)  # a handler that does not come back
        return {"batchItemFailures": []}

    port = free_port()

    async def scenario() -> dict[str, Any]:
        connection, jetstream = await connect_with_new_consumer(services["NATS_URL"], consumer)
        bridge = Bridge(
            consumer, services["NATS_URL"], target=target, fetch_timeout=0.2, probe_port=port,
            stall_after_seconds=STALL_AFTER_SECONDS,
        )  # fmt: skip
        task = asyncio.create_task(bridge.run())
        try:
            await until(port, "/healthz", 200)
            # Idle, fetching and finding nothing, for longer than the stall bound: alive.
            await asyncio.sleep(3 * STALL_AFTER_SECONDS)
            idle = await answer(port, "/livez")
            event = deps.event("org.updated", "org-stall", numbered("org-stall", 1))
            await publish_events(jetstream, [event])
            assert await asyncio.to_thread(entered.wait, 15), "the handler was never called"
            stalled = await until(port, "/livez", 503)
            ready_meanwhile = await answer(port, "/healthz")
            release.set()
            recovered = await until(port, "/livez", 200)
            bridge.stop()
            await task
            return {"idle": idle, "stalled": stalled, "ready": ready_meanwhile, "recovered": recovered}
        finally:
            release.set()
            bridge.stop()
            await asyncio.wait_for(task, 30)
            await jetstream.delete_consumer(EVENTS_STREAM, consumer.name)
            await connection.close()

    seen = asyncio.run(scenario())
    assert seen["idle"].status_code == 200, seen["idle"].json()
    stalled = seen["stalled"].json()
    assert stalled["tier"] == consumer.name and stalled["connected"] is True
    assert stalled["stall_after_seconds"] == STALL_AFTER_SECONDS
    assert stalled["seconds_since_loop"] >= STALL_AFTER_SECONDS  # (rounded to 0.1 s)
    assert seen["ready"].status_code == 200, "stuck, not disconnected: still ready"
    assert seen["recovered"].json()["processed"] == 1


def poll_command(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`plutomi ses poll` as the K3S Deployment runs it (a short long-poll, for the test)."""
    command = ["ses", "poll", "--wait-seconds", "1", "--probe-port", str(port), "--stall-after", "60"]
    return subprocess.Popen(
        [sys.executable, "-m", "plutomi.runtime.cli", *command],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def answers(port: int, path: str, status: int, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, (process.stderr.read() if process.stderr else b"")[-3000:]
    try:
        return probe(port, path).status_code == status
    except httpx.TransportError:
        return False


@pytest.mark.timeout(120)
def test_the_k3s_feedback_poller_suppresses_a_bounce_and_answers_its_probes(
    services: dict[str, str], deps: Dependencies, tmp_path: Path
) -> None:
    port = free_port()
    poller = poll_command(port, dict(os.environ))
    try:
        wait_until(lambda: answers(port, "/healthz", 200, poller), "ready: a poll reached the queue")
        assert probe(port, "/healthz").json() == {
            "ready": {"ses-feedback": True}, "consecutive_failures": {"ses-feedback": 0},
        }  # fmt: skip
        assert probe(port, "/livez").status_code == 200
        email = unique_email("k3s-bounce")
        simulate(get_settings(), "bounce", email)
        wait_until(
            lambda: deps.store.suppressions.get(email, SuppressionScope.ALL) is not None,
            "the poller suppressed the bounced address",
        )
        assert stop(poller) == 0
    finally:
        if poller.poll() is None:
            poller.kill()
            poller.wait()

    # A queue it cannot read (not created, no permission): unready, but its loop goes on, so alive.
    port = free_port()
    missing = poll_command(
        port, dict(os.environ, PLUTOMI_SES_FEEDBACK_QUEUE=f"missing-{uuid.uuid4().hex[:8]}")
    )
    try:
        wait_until(lambda: answers(port, "/livez", 200, missing), "the probe answers")
        wait_until(
            lambda: probe(port, "/healthz").json()["consecutive_failures"]["ses-feedback"] >= 2,
            "polls fail and are retried",
        )
        unready = probe(port, "/healthz")
        assert unready.status_code == 503 and unready.json()["ready"] == {"ses-feedback": False}
        assert probe(port, "/livez").status_code == 200
        assert stop(missing) == 0
    finally:
        if missing.poll() is None:
            missing.kill()
            missing.wait()
