"""What the use cases need from the outside world, and the bundle of it they receive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from plutomi.adapters.mongo_store import MongoStore
from plutomi.config import Settings
from plutomi.domain.emails import OutgoingEmail
from plutomi.domain.events import Event
from plutomi.domain.webhooks import SendResult


class Clock(Protocol):
    def now(self) -> datetime: ...

    def new_id(self, prefix: str) -> str: ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Event]) -> None: ...

    def check(self) -> None: ...


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> str: ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POSTs `body` as JSON with `headers`; never raises for what the network or receiver does."""
        ...


@dataclass
class Dependencies:
    store: MongoStore
    events: EventPublisher
    clock: Clock
    settings: Settings

    def event(self, event_type: str, org_id: str | None, data: dict[str, Any]) -> Event:
        return Event(
            id=self.clock.new_id("evt"),
            type=event_type,
            org_id=org_id,
            occurred_at=self.clock.now(),
            data=data,
        )

    def emit(self, event_type: str, org_id: str | None, data: dict[str, Any]) -> Event:
        """Publishes one event and returns it once JetStream has acknowledged it."""
        event = self.event(event_type, org_id, data)
        self.events.publish([event])
        return event
