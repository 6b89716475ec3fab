"""JetStream stream replicas as a setting (`PLUTOMI_STREAM_REPLICAS`), applied by `plutomi migrate`,
against the real (single) nats-server: one replica is created and kept on update; more than the
servers there are reaches NATS in the stream request and comes back as one clear error that changes
nothing."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from plutomi.adapters.jetstream import StreamReplicasRefused, StreamSpec, apply_stream, stream_config
from plutomi.config import load_settings
from plutomi.topology import EVENTS_STREAM
from tests.support.cli import run_plutomi


def with_jetstream(url: str, work: Callable[[JetStreamContext], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        connection = await nats.connect(url)
        try:
            return await work(connection.jetstream())
        finally:
            await connection.close()

    return asyncio.run(run())


def a_stream() -> StreamSpec:
    name = f"test-replicas-{uuid.uuid4().hex[:8]}"
    return StreamSpec(name, (f"{name}.>",), 3600.0)


def test_one_replica_is_created_and_kept_on_update(services: dict[str, str]) -> None:
    spec = a_stream()

    async def work(jetstream: JetStreamContext) -> tuple[list[str], int | None]:
        try:
            lines = [await apply_stream(jetstream, spec, 1), await apply_stream(jetstream, spec, 1)]
            return lines, (await jetstream.stream_info(spec.name)).config.num_replicas
        finally:
            await jetstream.delete_stream(spec.name)

    lines, replicas = with_jetstream(services["NATS_URL"], work)
    assert lines == [f"stream {spec.name} (1 replica): created", f"stream {spec.name} (1 replica): updated"]
    assert replicas == 1


def test_more_replicas_than_servers_reach_nats_and_fail_clearly_changing_nothing(
    services: dict[str, str],
) -> None:
    spec, fresh = a_stream(), a_stream()
    assert stream_config(spec, 3).as_dict()["num_replicas"] == 3

    async def work(jetstream: JetStreamContext) -> dict[str, Any]:
        await apply_stream(jetstream, spec, 1)
        try:
            refused = {}
            for name, target in (("update", spec), ("create", fresh)):
                with pytest.raises(StreamReplicasRefused) as caught:
                    await apply_stream(jetstream, target, 3)
                refused[name] = str(caught.value)
            kept = (await jetstream.stream_info(spec.name)).config.num_replicas
            names = await jetstream.streams_info()
            return {"refused": refused, "kept": kept, "streams": {s.config.name for s in names}}
        finally:
            await jetstream.delete_stream(spec.name)

    seen = with_jetstream(services["NATS_URL"], work)
    for name, target in (("update", spec), ("create", fresh)):
        message = seen["refused"][name]
        assert message.startswith(f"stream {target.name}: NATS refused 3 replicas ("), message
        assert "replicas > 1 not supported" in message, "NATS's own answer to the request's num_replicas"
        assert "PLUTOMI_STREAM_REPLICAS" in message
    assert seen["kept"] == 1
    assert fresh.name not in seen["streams"]


def test_migrate_with_more_replicas_than_servers_exits_with_one_line(services: dict[str, str]) -> None:
    done = run_plutomi("migrate", env=dict(os.environ, PLUTOMI_STREAM_REPLICAS="3"), timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"plutomi migrate: stream {EVENTS_STREAM}: NATS refused 3 replicas "
        "(replicas > 1 not supported in non-clustered mode); PLUTOMI_STREAM_REPLICAS needs a JetStream "
        "cluster of at least that many servers (1 on a single server)"
    ]

    async def replicas(jetstream: JetStreamContext) -> int | None:
        return (await jetstream.stream_info(EVENTS_STREAM)).config.num_replicas

    assert with_jetstream(services["NATS_URL"], replicas) == 1


@pytest.mark.parametrize("value", ["0", "6", "three", "-1"])
def test_a_replica_count_out_of_bounds_is_refused_by_name(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUTOMI_STREAM_REPLICAS", value)
    with pytest.raises(RuntimeError, match=r"PLUTOMI_STREAM_REPLICAS must be a whole number from 1 to 5"):
        load_settings()
    monkeypatch.setenv("PLUTOMI_STREAM_REPLICAS", "3")
    assert load_settings().stream_replicas == 3
    monkeypatch.delenv("PLUTOMI_STREAM_REPLICAS")
    assert load_settings().stream_replicas == 1
