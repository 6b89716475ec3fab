"""Emails people: login codes, invites, applicants' private links. Once per event, however often delivered."""

from __future__ import annotations

from typing import Any

from plutomi.bootstrap import dependencies, mailer
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.services import notifications


def send(event: Event) -> dict[str, Any]:
    message_id = notifications.notify(event, mailer(), dependencies())
    return {"sent": message_id is not None, "message_id": message_id}


handler = consumer_handler("notifications", send)
