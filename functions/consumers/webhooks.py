"""Delivers an org's events to its webhooks, signed. A failure to retry fails the record, so the pipeline
delivers the event again; webhooks it already reached are not called twice. The records of a batch
are handled side by side: a receiver that hangs (each delivery has a deadline) holds up no other
event's deliveries, even at a concurrency of 1."""

from __future__ import annotations

from typing import Any

from plutomi.bootstrap import dependencies, webhook_sender
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.services import webhooks


def deliver(event: Event) -> dict[str, Any]:
    return webhooks.deliver(dependencies(), webhook_sender(), event)


# Enough that one receiver that hangs (each delivery has a deadline) leaves the rest of the batch
# moving; not more: on nx-27017, whose writes queue behind one lock, bench/webhook_deliveries.py
# measured 1 at once 93-102/s, 2-6 at once 111-141/s, 10 at once 45-80/s (bench/RESULTS.md).
RECORDS_AT_ONCE = 4

handler = consumer_handler("webhooks", deliver, records_at_once=RECORDS_AT_ONCE)
