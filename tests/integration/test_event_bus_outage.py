"""When NATS is down the API keeps working: events wait in the outbox, and flow once NATS is back."""

from __future__ import annotations

import json
import time

from plutomi.bootstrap import dependencies
from plutomi.runtime.embedded import EmbeddedServices
from tests.conftest import unique_email
from tests.support.http import Api
from tests.support.stack import RunningStack, wait_for_email


def test_requests_succeed_during_an_outage_and_events_flow_after(
    stack: RunningStack, embedded: EmbeddedServices
) -> None:
    api = Api(stack.base_url)
    email = unique_email("outage")
    embedded.kill_nats()
    try:
        started = time.monotonic()
        response = api.post("/auth/totp", json={"email": email})
        assert response.status_code == 202, response.text
        assert time.monotonic() - started < 2, "the request must not wait for NATS"
        health = api.get("/health")
        assert health.status_code == 503
        assert json.loads(health.text)["checks"]["events"].startswith("unavailable")
        assert dependencies().store.outbox.any_pending()
    finally:
        embedded.restart_nats()
    message = wait_for_email(email, subject_contains="login code", timeout=30)
    assert "login code is" in message.text
    deadline = time.monotonic() + 10
    while dependencies().store.outbox.any_pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not dependencies().store.outbox.any_pending()
    assert api.get("/health").status_code == 200
