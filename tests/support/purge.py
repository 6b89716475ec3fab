"""Waiting for and finishing an org's purge in tests that run the stack (its `org-purge` consumer does
the work at once; the scheduled sweeper removes the tombstone after the grace period)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.runtime.aws_events import schedule_event
from plutomi.runtime.functions import invoke
from plutomi.services.org_purge import GRACE

Document = dict[str, Any]


def documents_of(org_id: str) -> list[Document]:
    """Every document that carries the org's id, whatever its type."""
    return list(bootstrap.dependencies().store.items.find({"org_id": {"$eq": org_id}}))


# What consumers may still write about an org's events while the purge runs (an attempt that was under
# way when the org was deleted); the purge's last pass, after the grace period, removes them.
EVENT_RECORDS = frozenset({"outbox_event", "idempotency", "attempt_error", "webhook_delivery"})


def wait_for_background_purge(org_id: str, timeout: float = 30.0) -> list[Document]:
    """Waits until the `org-purge` consumer has removed the org's data, its events are published, and
    nothing of it has changed for a second (consumers finishing what was under way); returns what is
    left: the tombstone, and records of events handled while or after the purge ran."""
    deadline = time.monotonic() + timeout
    last: list[str] | None = None
    stable_since = time.monotonic()
    while True:
        left = documents_of(org_id)
        data = [d for d in left if d["type"] != "org" and d["type"] not in EVENT_RECORDS]
        unpublished = [d for d in left if d["type"] == "outbox_event" and "pending_since_ms" in d]
        ids = sorted(str(d["_id"]) for d in left)
        if ids != last:
            last, stable_since = ids, time.monotonic()
        if not data and not unpublished and time.monotonic() - stable_since > 1.0:
            return left
        if time.monotonic() > deadline:
            raise AssertionError(f"the purge did not remove {org_id}'s data: {[d['type'] for d in left]}")
        time.sleep(0.1)


def finish_purge(org_id: str, clock: FixedClock) -> dict[str, Any]:
    """Lets the grace period pass and runs the scheduled sweeper, as every minute in production."""
    wait_for_background_purge(org_id)
    clock.advance(GRACE + timedelta(minutes=1))
    swept: dict[str, Any] = invoke("scheduled.org_purge_sweeper", schedule_event())
    assert documents_of(org_id) == [], documents_of(org_id)
    return swept
