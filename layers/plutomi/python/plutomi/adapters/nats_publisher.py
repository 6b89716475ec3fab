"""Publishes events to JetStream from synchronous handler code.

nats-py is asyncio; Lambda handlers are synchronous. One event loop runs in a daemon thread per
process and keeps the connection warm between invocations. `publish` returns only after JetStream
acknowledged every event, and raises `Unavailable` when it cannot, so the API can answer 503.
nats-py itself is imported on the first publish or check, so a function that only reads never
loads it (see bench/cold_start.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from plutomi.domain.errors import Unavailable
from plutomi.domain.events import Event

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.js import JetStreamContext

T = TypeVar("T")


class EventLoopThread:
    """An asyncio loop in a daemon thread, for calling async clients from sync code."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)


def encode_event(event: Event) -> bytes:
    return event.model_dump_json().encode()


class NatsEventPublisher:
    def __init__(self, url: str, timeout_seconds: float) -> None:
        self._url = url
        self._timeout = timeout_seconds
        self._loop = EventLoopThread("plutomi-nats")
        self._connection: NatsClient | None = None
        self._jetstream: JetStreamContext | None = None
        self._connect_lock = asyncio.Lock()

    def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        try:
            self._loop.run(self._publish(events), timeout=self._timeout * (1 + len(events)))
        except Unavailable:
            raise
        except Exception as error:
            raise Unavailable(
                "event_bus_unavailable",
                "The event bus did not acknowledge the change; nothing was lost on your side, please retry",
            ) from error

    def check(self) -> None:
        """Raises when JetStream cannot be reached: for /health."""
        try:
            self._loop.run(self._check(), timeout=self._timeout)
        except Exception as error:
            raise Unavailable("event_bus_unavailable", "NATS JetStream is not reachable") from error

    async def _check(self) -> None:
        jetstream = await self._jetstream_context()
        await jetstream.account_info()

    async def _publish(self, events: Sequence[Event]) -> None:
        jetstream = await self._jetstream_context()
        for event in events:
            await jetstream.publish(
                event.subject,
                encode_event(event),
                timeout=self._timeout,
                headers={"Nats-Msg-Id": event.id},
            )

    async def _jetstream_context(self) -> JetStreamContext:
        async with self._connect_lock:
            if self._connection is None or self._connection.is_closed:
                import nats

                # nats-py retries a first connection forever when reconnects are unlimited; bound it so
                # a request fails fast with 503 while NATS is down, and reconnect forever once connected.
                self._connection = await asyncio.wait_for(
                    nats.connect(
                        self._url,
                        connect_timeout=min(self._timeout, 2),
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=0.5,
                        name="plutomi-publisher",
                    ),
                    timeout=self._timeout,
                )
                self._jetstream = self._connection.jetstream(timeout=self._timeout)
            assert self._jetstream is not None
            return self._jetstream
