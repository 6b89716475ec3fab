"""Delivers an org's events to its webhooks, signed. A failure to retry fails the record, so the pipeline
delivers the event again; webhooks it already reached are not called twice."""

from __future__ import annotations

from typing import Any

from plutomi.bootstrap import dependencies, webhook_sender
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.services import webhooks


def deliver(event: Event) -> dict[str, Any]:
    return webhooks.deliver(dependencies(), webhook_sender(), event)


handler = consumer_handler("webhooks", deliver)
