"""The migrations custom resource's handler (`deploy.migrate`), run with CloudFormation's events
against a NATS of its own (nats-server, started here, with no streams) and a database of its own on the
session's nx-27017: Create and Update migrate as `plutomi migrate` does, Delete touches nothing."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from pymongo import MongoClient

from plutomi.adapters.jetstream import STREAMS
from plutomi.adapters.mongo_indexes import ITEMS_INDEXES
from plutomi.config import get_settings
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.functions import invoke
from plutomi.topology import all_tiers

SAMPLE_EVENT = Path(__file__).resolve().parents[2] / "events" / "deploy" / "migrate.json"


def cloudformation_event(request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    """The sample event (a Create as the provider framework passes it on) as another request type."""
    event: dict[str, Any] = copy.deepcopy(json.loads(SAMPLE_EVENT.read_text()))
    event["RequestType"] = request_type
    event["RequestId"] = str(uuid.uuid4())
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
        older = dict(event["ResourceProperties"], PlutomiLayerAsset="an-older-layer.zip")
        event["OldResourceProperties"] = older
    return event


@pytest.fixture
def fresh(
    services: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """A nats-server with no streams and a database name nobody used; the session's MongoDB and AWS."""
    nats_only = EmbeddedServices(
        tmp_path, mongodb_url=os.environ["MONGODB_URL"], aws_endpoint_url=os.environ["AWS_ENDPOINT_URL"]
    )
    endpoints = nats_only.start()
    database = f"plutomi_deploy_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("NATS_URL", endpoints.nats_url)
    monkeypatch.setenv("MONGODB_DATABASE", database)
    get_settings.cache_clear()  # a warm process reads its settings once
    try:
        yield {"nats_url": endpoints.nats_url, "mongodb_url": os.environ["MONGODB_URL"], "database": database}
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        nats_only.stop()


def jetstream_contents(url: str) -> dict[str, set[str]]:
    """Stream name -> the durable consumers on it."""

    async def read() -> dict[str, set[str]]:
        connection = await nats.connect(url)
        try:
            jetstream = connection.jetstream()
            found = {}
            for stream in await jetstream.streams_info():
                name = stream.config.name
                assert name is not None
                found[name] = {info.name for info in await jetstream.consumers_info(name)}
            return found
        finally:
            await connection.close()

    return asyncio.run(read())


def index_keys(fresh: dict[str, str]) -> set[tuple[tuple[str, int], ...]]:
    client: MongoClient[dict[str, Any]] = MongoClient(fresh["mongodb_url"])
    try:
        return {tuple(index["key"].items()) for index in client[fresh["database"]]["items"].list_indexes()}
    finally:
        client.close()


def expected_jetstream() -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {spec.name: set() for spec in STREAMS}
    for tier in all_tiers():
        expected[tier.stream].add(tier.durable)
    return expected


def test_create_migrates_indexes_streams_and_consumers(fresh: dict[str, str]) -> None:
    assert jetstream_contents(fresh["nats_url"]) == {}

    result = invoke("deploy.migrate", cloudformation_event("Create"))

    assert result["PhysicalResourceId"] == "plutomi-migrations"
    assert int(result["Data"]["Steps"]) >= len(ITEMS_INDEXES) + len(STREAMS)
    assert jetstream_contents(fresh["nats_url"]) == expected_jetstream()
    created = index_keys(fresh)
    for spec in ITEMS_INDEXES:
        assert spec.keys in created, f"index {spec.name} missing"


def test_update_migrates_again_and_keeps_the_resource(fresh: dict[str, str]) -> None:
    invoke("deploy.migrate", cloudformation_event("Create"))
    before = index_keys(fresh)

    result = invoke("deploy.migrate", cloudformation_event("Update", physical_id="plutomi-migrations"))

    # The same physical id: CloudFormation then never deletes the old resource.
    assert result["PhysicalResourceId"] == "plutomi-migrations"
    assert index_keys(fresh) == before
    assert jetstream_contents(fresh["nats_url"]) == expected_jetstream()


def test_delete_leaves_everything_as_it_is(fresh: dict[str, str]) -> None:
    result = invoke("deploy.migrate", cloudformation_event("Delete", physical_id="plutomi-migrations"))

    assert result == {"PhysicalResourceId": "plutomi-migrations"}
    assert jetstream_contents(fresh["nats_url"]) == {}
    assert not index_keys(fresh) - {(("_id", 1),)}


def test_an_unknown_request_type_fails_with_a_clear_message(fresh: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="RequestType must be Create, Update or Delete; got 'Replace'"):
        invoke("deploy.migrate", cloudformation_event("Replace"))
    assert jetstream_contents(fresh["nats_url"]) == {}
