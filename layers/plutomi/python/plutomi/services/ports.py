"""What the use cases need from the outside world, and the bundle of it they receive."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from plutomi.adapters.mongo_store import MongoStore
from plutomi.adapters.resolver import HostResolver as HostResolver
from plutomi.adapters.resolver import SystemResolver
from plutomi.config import Settings
from plutomi.domain.emails import OutgoingEmail
from plutomi.domain.events import Event, validated_data
from plutomi.domain.stream import ConsumerProgress, StoredMessage
from plutomi.domain.webhooks import SendResult


class Clock(Protocol):
    def now(self) -> datetime: ...

    def new_id(self, prefix: str) -> str: ...


class EventBus(Protocol):
    """JetStream, for the few use cases that talk to it directly (health, meta consumers, the DLQ)."""

    def check(self) -> None:
        """Raises when the event bus cannot be reached (for /health)."""

    def publish(self, subject: str, payload: bytes, message_id: str) -> int: ...

    def get(self, stream: str, seq: int) -> StoredMessage | None: ...

    def delete(self, stream: str, seq: int) -> bool: ...

    def sequence_range(self, stream: str) -> tuple[int, int]: ...

    def next_message(self, stream: str, subject: str, from_seq: int) -> StoredMessage | None: ...

    def subjects(self, stream: str, subjects_filter: str) -> dict[str, int]: ...

    def consumer_progress(self, stream: str, durable: str) -> ConsumerProgress | None: ...

    def find_message(
        self, stream: str, subject: str, message_id: str, since: datetime, until: datetime
    ) -> StoredMessage | None: ...

    def close(self) -> None:
        """Lets go of the connection, for a process that is stopping."""


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> str: ...


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POSTs `body` as JSON with `headers` to a public address the URL's host resolves to (the
        result is `blocked` when there is none); never raises for what the network or receiver does."""
        ...


@dataclass
class Dependencies:
    store: MongoStore
    event_bus: EventBus
    clock: Clock
    settings: Settings
    # Resolves host names (a webhook URL's, when it is saved); the system's resolver unless replaced.
    resolver: HostResolver = field(default_factory=SystemResolver)

    def event(self, event_type: str, org_id: str | None, data: Mapping[str, Any]) -> Event:
        """A new event of the type, its data checked against the type's payload model (EventDataMismatch
        otherwise) and replaced by the model's JSON dump: what is stored and sent is the contract."""
        return Event(
            id=self.clock.new_id("evt"),
            type=event_type,
            org_id=org_id,
            occurred_at=self.clock.now(),
            data=validated_data(event_type, data),
        )

    def emit(self, event_type: str, org_id: str | None, data: Mapping[str, Any]) -> Event:
        """Writes an event to the outbox, in the caller's transaction when there is one; the relay
        publishes it to JetStream. The request never waits for NATS."""
        event = self.event(event_type, org_id, data)
        self.store.outbox.add(event)
        return event

    def transaction(self) -> AbstractContextManager[None]:
        """The unit of work: the block's changes and the events it emits commit together."""
        return self.store.transaction(enabled=self.settings.mongodb_transactions)
