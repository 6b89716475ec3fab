"""When NATS is down the API says so with a 503 a person can retry; when it is back, requests work."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from plutomi import bootstrap
from plutomi.runtime.aws_events import http_event
from plutomi.runtime.embedded import EmbeddedServices, free_port
from plutomi.runtime.functions import invoke
from tests.conftest import unique_email


def request_code(email: str) -> dict[str, object]:
    event = http_event(
        method="POST",
        path="/auth/totp",
        route_key="POST /auth/totp",
        headers=[("content-type", "application/json")],
        body=json.dumps({"email": email}).encode(),
    )
    result: dict[str, object] = invoke("api.auth", event)
    return result


@pytest.fixture
def unreachable_nats(services: dict[str, str]) -> Iterator[None]:
    saved = os.environ["NATS_URL"], os.environ.get("PLUTOMI_NATS_TIMEOUT_SECONDS")
    os.environ["NATS_URL"] = f"nats://127.0.0.1:{free_port()}"
    os.environ["PLUTOMI_NATS_TIMEOUT_SECONDS"] = "1"
    bootstrap.reset()
    yield
    os.environ["NATS_URL"] = saved[0]
    if saved[1] is None:
        os.environ.pop("PLUTOMI_NATS_TIMEOUT_SECONDS", None)
    else:
        os.environ["PLUTOMI_NATS_TIMEOUT_SECONDS"] = saved[1]
    bootstrap.reset()


def test_a_change_fails_fast_with_503_when_nats_is_unreachable(unreachable_nats: None) -> None:
    started = time.monotonic()
    result = request_code(unique_email())
    assert time.monotonic() - started < 5
    assert result["statusCode"] == 503
    assert result["headers"]["Retry-After"]  # type: ignore[index]
    assert json.loads(str(result["body"]))["error"]["code"] == "event_bus_unavailable"

    health = invoke("api.health", http_event(method="GET", path="/health", route_key="GET /health"))
    assert health["statusCode"] == 503
    assert json.loads(health["body"])["checks"]["events"].startswith("unavailable")


def test_the_publisher_reconnects_after_a_nats_restart(
    services: dict[str, str], embedded: EmbeddedServices
) -> None:
    bootstrap.reset()
    assert request_code(unique_email())["statusCode"] == 202
    embedded.restart_nats()
    deadline = time.monotonic() + 20
    while True:
        status = request_code(unique_email())["statusCode"]
        if status == 202:
            break
        assert status == 503, status
        assert time.monotonic() < deadline, "the publisher did not recover after NATS came back"
