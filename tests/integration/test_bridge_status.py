"""What a bridge tells an operator: its consumer's lag and its counts, as JSON log lines at an interval
and on its probe endpoint (`GET /healthz`, 503 while NATS is down); and a NATS restart leaves only
one-line JSON warnings in its output, never a traceback, makes the bridge and the relay unready but
never dead (`GET /livez` stays 200: restarting them would not bring NATS back)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from plutomi.observability import runtime_logger
from plutomi.runtime.bridge import Bridge
from plutomi.runtime.embedded import EmbeddedServices, free_port
from plutomi.services.ports import Dependencies
from plutomi.topology import EVENTS_STREAM, Consumer
from tests.support.cli import ROOT
from tests.support.jetstream import connect_with_new_consumer, publish_events
from tests.support.numbered import number_of, numbered

FIGURES = ("tier", "connected", "pending", "ack_pending", "redelivered", "processed", "failed", "retried")


def probe(port: int, path: str = "/healthz", method: str = "GET") -> httpx.Response:
    return httpx.request(method, f"http://127.0.0.1:{port}{path}", timeout=5)


def wait_until(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def test_a_bridge_reports_lag_and_counts_in_its_log_lines_and_on_its_probe(
    services: dict[str, str], deps: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured = io.StringIO()
    handler = runtime_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", captured)
    org_id = f"status-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        f"test-status-{uuid.uuid4().hex[:8]}",
        "unused",
        ("org.updated",),
        batch_size=2,
        backoff_seconds=(0.1,),
    )
    events = [deps.event("org.updated", org_id, numbered(org_id, n)) for n in range(5)]
    release = threading.Event()

    def target(sqs_event: dict[str, Any]) -> dict[str, Any]:
        release.wait(20)  # the first batches wait, so the probe sees them delivered and unsettled
        failures = []
        for record in sqs_event["Records"]:
            body = json.loads(record["body"])
            if number_of(body["data"]) == 0 and record["attributes"]["ApproximateReceiveCount"] == "1":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    port = free_port()

    async def scenario() -> dict[str, Any]:
        connection, jetstream = await connect_with_new_consumer(services["NATS_URL"], consumer)
        try:
            await publish_events(jetstream, events)
            bridge = Bridge(
                consumer, services["NATS_URL"], target=target, fetch_timeout=0.2,
                report_every_seconds=0.2, probe_port=port,
            )  # fmt: skip
            task = asyncio.create_task(bridge.run())

            async def answer() -> httpx.Response:
                return await asyncio.to_thread(probe, port)

            while True:  # the first batch is with the handler, which waits
                busy = await answer()
                if busy.status_code == 200 and (busy.json().get("ack_pending") or 0) >= 2:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(3 * bridge.report_every_seconds)  # status lines while it waits
            release.set()
            while (settled := (await answer()).json())["processed"] < 5:
                await asyncio.sleep(0.1)
            while (settled := (await answer()).json())["ack_pending"]:
                await asyncio.sleep(0.1)
            elsewhere = await asyncio.to_thread(probe, port, "/health")
            posted = await asyncio.to_thread(probe, port, "/healthz", "POST")
            bridge.stop()
            await task
            return {"busy": busy, "settled": settled, "elsewhere": elsewhere, "posted": posted}
        finally:
            await jetstream.delete_consumer(EVENTS_STREAM, consumer.name)
            await connection.close()

    seen = asyncio.run(scenario())
    busy = seen["busy"].json()
    assert busy["tier"] == consumer.name and busy["connected"] is True
    assert busy["pending"] + busy["ack_pending"] == 5, busy  # nothing handled yet
    settled = seen["settled"]
    assert {key: settled[key] for key in ("pending", "ack_pending", "processed", "failed", "retried")} == {
        "pending": 0, "ack_pending": 0, "processed": 5, "failed": 1, "retried": 1,
    }  # fmt: skip
    assert seen["elsewhere"].status_code == 404 and seen["posted"].status_code == 405
    with pytest.raises(httpx.TransportError):
        probe(port)  # closed with the bridge

    lines = [line for line in one_line_json_records(captured.getvalue()) if line.get("tier") == consumer.name]
    statuses = [line for line in lines if line["message"] == "bridge status"]
    assert statuses and all(set(FIGURES) <= set(line) for line in statuses), statuses[:2]
    assert any(line["ack_pending"] for line in statuses), "a status line while the handler waited"
    (stopped,) = [line for line in lines if line["message"] == "bridge stopped"]
    assert {key: stopped[key] for key in ("pending", "ack_pending", "processed", "failed")} == {
        "pending": 0, "ack_pending": 0, "processed": 5, "failed": 1,
    }  # fmt: skip


def one_line_json_records(output: str) -> list[dict[str, Any]]:
    """Every line of a process's output as JSON; fails on a traceback or any line that is not JSON."""
    assert "Traceback" not in output, output[-5000:]
    records = []
    for line in output.splitlines():
        if line.strip():
            record = json.loads(line)  # raises on anything but a JSON line
            assert isinstance(record, dict), line
            records.append(record)
    return records


@pytest.mark.timeout(120)
def test_a_nats_restart_leaves_only_one_line_json_warnings_and_the_probe_follows_it(
    services: dict[str, str], embedded: EmbeddedServices, tmp_path: Path
) -> None:
    port, relay_port = free_port(), free_port()
    stall_after = 8.0  # the outage below lasts longer
    commands = {
        "bridge": ["bridge", "--consumer", "meta", "--probe-port", str(port), "--report-every", "0.5"],
        "relay": ["relay", "--probe-port", str(relay_port)],
    }
    for command in commands.values():
        command += ["--stall-after", str(stall_after)]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name, command in commands.items():
        with (tmp_path / f"{name}.out").open("wb") as out, (tmp_path / f"{name}.err").open("wb") as err:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "plutomi.runtime.cli", *command],
                stdout=out, stderr=err, env=dict(os.environ), cwd=ROOT,
            )  # fmt: skip

    def output(name: str) -> str:
        return (tmp_path / f"{name}.out").read_text() + (tmp_path / f"{name}.err").read_text()

    def answers(status: int, at: int = port) -> bool:
        for name, process in processes.items():
            assert process.poll() is None, f"{name} exited:\n{output(name)[-3000:]}"
        try:
            return probe(at).status_code == status
        except httpx.TransportError:
            return False

    try:
        wait_until(lambda: answers(200), "the probe answers 200")
        wait_until(lambda: answers(200, relay_port), "the relay's probe answers 200")
        wait_until(lambda: "relay started" in output("relay"), "the relay starts")
        embedded.kill_nats()
        try:
            down = time.monotonic()
            wait_until(lambda: answers(503), "the probe answers 503 while NATS is down")
            wait_until(lambda: answers(503, relay_port), "the relay is unready while NATS is down")
            assert probe(port).json()["connected"] is False
            while time.monotonic() - down < stall_after + 2:  # reconnect attempts fail meanwhile
                for at in (port, relay_port):
                    alive = probe(at, "/livez")
                    assert alive.status_code == 200, ("an outage is no stall", at, alive.json())
                time.sleep(0.5)
        finally:
            embedded.restart_nats()
        wait_until(lambda: answers(200), "the probe answers 200 once NATS is back", timeout=30)
        wait_until(lambda: answers(200, relay_port), "the relay is ready once NATS is back", timeout=30)
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        codes = {name: process.wait(timeout=30) for name, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    assert codes == {"bridge": 0, "relay": 0}, output("bridge")[-2000:] + output("relay")[-2000:]
    for name in processes:
        records = one_line_json_records(output(name))
        problems = [r for r in records if r["message"] == "nats connection problem"]
        assert problems and all(r["level"] == "WARNING" and r["error"] for r in problems), (name, records)
    bridge = one_line_json_records(output("bridge"))
    assert any(r["message"] == "bridge status" and r["connected"] is False for r in bridge)
    assert any(r["message"] == "bridge stopped" for r in bridge)


def test_a_library_traceback_becomes_one_warning_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """What nats-py logs when its read loop fails, and asyncio for a task nobody awaited."""
    from plutomi.observability import OneLineWarnings, library_lines_as_json

    library_lines_as_json()
    library_lines_as_json()  # once is enough: no second handler, no line twice
    captured = io.StringIO()
    (handler,) = [h for h in logging.getLogger("nats").handlers if isinstance(h, OneLineWarnings)]
    monkeypatch.setattr(handler, "stream", captured)
    (same,) = [h for h in logging.getLogger("asyncio").handlers if isinstance(h, OneLineWarnings)]
    monkeypatch.setattr(same, "stream", captured)
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError as error:
        logging.getLogger("nats.aio.client").error("nats: encountered error", exc_info=error)

    async def forgotten() -> None:
        async def fails() -> None:
            raise RuntimeError("nobody asked")

        task = asyncio.get_running_loop().create_task(fails())
        await asyncio.sleep(0.01)
        del task

    asyncio.run(forgotten())
    import gc

    gc.collect()  # the task's exception is reported when it is collected
    records = one_line_json_records(captured.getvalue())
    assert [(r["logger"], r["level"], r["error"]) for r in records] == [
        ("nats.aio.client", "WARNING", "ConnectionResetError('peer went away')"),
        ("asyncio", "WARNING", "RuntimeError('nobody asked')"),
    ]
    assert all("exception" not in r and "stack_trace" not in r for r in records)
