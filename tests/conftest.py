"""Fixtures shared by the integration and end-to-end tests: real nats-server, nx-27017 and moto's
server on free ports (started once per session), and a running stack (gateway and bridges)."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.domain.models import Org
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
    from plutomi.runtime.dev import export_with_fresh_database

    data_dir = embedded.data_dir
    saved = dict(os.environ)
    try:
        os.environ["PLUTOMI_ENV"] = "test"
        # As behind a proxy: each test client names its own address (tests/support/http.py), so the
        # per-client rate limits count each test's requests apart.
        os.environ["PLUTOMI_CLIENT_IP_HEADER"] = "x-forwarded-for"
        endpoints = export_with_fresh_database(embedded, "test")
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


def login_code_request(deps: Dependencies, email: str) -> dict[str, str]:
    """`totp.requested` data as POST /auth/totp leaves them (no code: the consumer issues one), for a
    sending slot nobody holds."""
    return {
        "email": email,
        "requested_at": deps.clock.now().isoformat(),
        "slot_id": f"otpslot_0_{email}",
        "slot_claim": "unclaimed",
    }


_clients = itertools.count(1)


def unique_client() -> str:
    """A client address of its own (from the benchmarking range 198.18.0.0/15; nothing is sent there)."""
    number = next(_clients) + os.getpid() % 1000 * 70
    return f"198.{18 + number // 65536 % 2}.{number // 256 % 256}.{number % 256}"


def unique_org_id(label: str = "org") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def stored_org(deps: Dependencies, org_id: str, display_name: str = "Acme") -> Org:
    """A live org straight in the store, created a second ago, for tests that feed consumers events of
    an org without going through the API: consumers ignore the events of an org that does not exist."""
    created = deps.clock.now() - timedelta(seconds=1)
    org = Org(
        id=f"org_{org_id}",
        org_id=org_id,
        display_name=display_name,
        created_by="usr_test",
        created_at=created,
        updated_at=created,
    )
    deps.store.orgs.create(org)
    return org
