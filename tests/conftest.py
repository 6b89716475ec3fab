"""Fixtures shared by the integration and end-to-end tests: real nats-server, nx-27017 and moto's
server on free ports (started once per session), and a running stack (gateway and bridges)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.services.ports import Dependencies
from tests.support.stack import RunningStack, start_stack


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServices]:
    """The embedded services object, for tests that stop or restart one (fault tests)."""
    data_dir: Path = tmp_path_factory.mktemp("services")
    running = EmbeddedServices(data_dir)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def services(embedded: EmbeddedServices) -> Iterator[dict[str, str]]:
    """Starts the three services once; points this process at them; runs `plutomi migrate`."""
    from plutomi.config import get_settings
    from plutomi.runtime.dev import export_endpoints
    from plutomi.runtime.migrate import migrate

    data_dir = embedded.data_dir
    saved = dict(os.environ)
    try:
        endpoints = export_endpoints(embedded)
        os.environ["PLUTOMI_ENV"] = "test"
        os.environ["MONGODB_DATABASE"] = f"plutomi_test_{uuid.uuid4().hex[:8]}"
        bootstrap.reset()
        migrate(get_settings(), say=lambda _: None)
        yield endpoints | {"data_dir": str(data_dir)}
    finally:
        bootstrap.close()  # before the services go: nothing reconnects to a stopped NATS
        embedded.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def deps(services: dict[str, str]) -> Dependencies:
    return bootstrap.dependencies()


@pytest.fixture
def clock(services: dict[str, str]) -> Iterator[FixedClock]:
    """A clock that only moves when the test advances it; wired into every use case."""
    fixed = FixedClock(datetime.now(UTC).replace(microsecond=0))
    bootstrap.override(clock=fixed)
    yield fixed
    bootstrap.reset()


@pytest.fixture(scope="session")
def stack(services: dict[str, str]) -> Iterator[RunningStack]:
    """The gateway on a free port and a bridge per consumer, as `plutomi dev` runs them."""
    running = start_stack()
    try:
        yield running
    finally:
        running.stop()


def unique_email(label: str = "person") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def unique_org_id(label: str = "org") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"
