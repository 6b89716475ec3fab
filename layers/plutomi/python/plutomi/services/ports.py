"""What the use cases need from the outside world, and the bundle of it they receive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from plutomi.adapters.resolver import HostResolver as HostResolver
from plutomi.adapters.resolver import SystemResolver

if TYPE_CHECKING:  # the store's module imports pymongo: a function without the database never loads it
    from plutomi.adapters.mongo_store import MongoStore
    from plutomi.config import Settings
    from plutomi.domain.emails import OutgoingEmail
    from plutomi.domain.events import Event
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


class StoredObject(NamedTuple):
    size_bytes: int
    last_modified: datetime


class PresignedPost(NamedTuple):
    url: str
    fields: dict[str, str]


class ObjectStorage(Protocol):
    """The documents bucket (S3, or any S3-compatible store by endpoint URL)."""

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta, tagging: str
    ) -> PresignedPost:
        """A form that uploads one object of exactly this content type and 1..max_bytes bytes to
        `key`, tagged with `tagging`, until `expires_in` from now."""
        ...

    def head(self, key: str) -> StoredObject | None:
        """The object's size and when it was stored; None when there is none."""
        ...

    def first_bytes(self, key: str, count: int) -> bytes: ...

    def set_tag(self, key: str, name: str, value: str) -> None:
        """Sets one tag on the object, keeping its other tags (a scanner's, say)."""
        ...

    def delete(self, key: str) -> None:
        """Deletes the object, every version of it when the bucket keeps versions."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under `prefix`, all versions and delete markers; how many went."""
        ...

    def presigned_get(self, key: str, content_type: str, disposition: str, expires_in: timedelta) -> str:
        """A link that serves the object with these response headers (and no-store) for a while."""
        ...


def _documents_storage() -> ObjectStorage:
    from plutomi.bootstrap import documents_storage

    return documents_storage()


@dataclass
class Dependencies:
    store: MongoStore
    event_bus: EventBus
    clock: Clock
    settings: Settings
    # Resolves host names (a webhook URL's, when it is saved); the system's resolver unless replaced.
    resolver: HostResolver = field(default_factory=SystemResolver)
    # The documents bucket, built on first use: functions that never touch documents never import boto3.
    storage_factory: Callable[[], ObjectStorage] = _documents_storage
    _storage: ObjectStorage | None = field(default=None, init=False, repr=False)

    @property
    def storage(self) -> ObjectStorage:
        if self._storage is None:
            self._storage = self.storage_factory()
        return self._storage

    def event(self, event_type: str, org_id: str | None, data: Mapping[str, Any]) -> Event:
        """A new event of the type, its data checked against the type's payload model (EventDataMismatch
        otherwise) and replaced by the model's JSON dump: what is stored and sent is the contract."""
        from plutomi.domain.event_payloads import validated_data
        from plutomi.domain.events import Event

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
