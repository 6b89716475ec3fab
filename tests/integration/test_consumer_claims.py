"""Concurrent batches of one consumer in one process (as the bridge runs them): each batch's claims
last as long as that batch's own invocation has left, whichever batch started last."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from plutomi.adapters.mongo_base import where
from plutomi.adapters.mongo_idempotency import RECORD_TYPE
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.functions import LocalContext
from plutomi.services.ports import Dependencies


def test_each_batch_claims_its_events_for_its_own_remaining_time(deps: Dependencies) -> None:
    """Batch A (60 s left) claims a1, then batch B (600 s left) starts while A still works, then A
    claims a2: a2's claim lapses with A's time, not B's."""
    name = f"claims-{uuid.uuid4().hex[:8]}"
    a1_inside, b1_done = threading.Event(), threading.Event()
    left_ms: dict[str, int] = {}  # each event's claim, as time left when its side effect ran

    def process(event: Event) -> dict[str, Any]:
        claim = deps.store.items.find_one(where(type=RECORD_TYPE, org_id=event.org_id))
        assert claim is not None and claim["status"] == "INPROGRESS"
        left_ms[event.data["display_name"]] = claim["in_progress_expiry"] - int(time.time() * 1000)
        if event.data["display_name"] == "a1":
            a1_inside.set()
            assert b1_done.wait(30), "batch B did not run"
        return {}

    handler = consumer_handler(name, process)

    def batch(*names: str) -> dict[str, Any]:
        records = []
        for n in names:  # the name travels as the display name
            org_id = f"{name}-{n}-{uuid.uuid4().hex[:6]}"
            event = deps.event("org.updated", org_id, {"org_id": org_id, "display_name": n, "by": "usr_test"})
            records.append(sqs_record(event.model_dump_json()))
        return sqs_event(records)

    answers: dict[str, Any] = {}

    def batch_a() -> None:
        answers["a"] = handler(batch("a1", "a2"), LocalContext(name, timeout_seconds=60))  # type: ignore[arg-type]

    a = threading.Thread(target=batch_a)
    a.start()
    assert a1_inside.wait(30), "batch A did not start"
    answers["b"] = handler(batch("b1"), LocalContext(name, timeout_seconds=600))  # type: ignore[arg-type]
    b1_done.set()
    a.join(30)
    assert answers == {"a": {"batchItemFailures": []}, "b": {"batchItemFailures": []}}
    assert 50_000 < left_ms["a1"] <= 60_000 and 50_000 < left_ms["a2"] <= 60_000, left_ms
    assert 590_000 < left_ms["b1"] <= 600_000, left_ms
