"""Synchronous JetStream access for handlers and commands: the health check, the meta consumers
(publish a pointer, read a message by sequence) and the DLQ commands (read, delete).

nats-py is asyncio; handlers are synchronous, so one event loop runs in a daemon thread per process
and keeps the connection warm. nats-py itself is imported on first use, so functions that never
touch NATS never load it (see bench/cold_start.py). Request handlers do not publish: events reach
JetStream through the outbox relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from plutomi.domain.errors import Unavailable
from plutomi.domain.stream import ConsumerProgress, StoredMessage
from plutomi.observability import library_lines_as_json

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
        # In a context of its own: the task (and the tasks nats-py starts from it, which outlive the
        # call) would otherwise inherit the calling handler's context, and its log keys with it.
        submit = asyncio.run_coroutine_threadsafe
        return contextvars.Context().run(submit, coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            # Closed here, not left to the garbage collector, which at interpreter exit closes it
            # after its self-pipe is gone and prints a traceback ("Invalid file descriptor: -1").
            self._loop.close()


# Under nats-py's own logger, so `library_lines_as_json` writes it like nats-py's lines (on standard
# error: standard output is the JSON logger's, which `plutomi invoke` keeps for the result).
NATS_LOGGER_NAME = "nats.plutomi"
_nats_logger = logging.getLogger(NATS_LOGGER_NAME)


def log_nats_error(
    connection_name: str, every_seconds: float = 10.0
) -> Callable[[Exception], Awaitable[None]]:
    """An `error_cb` for nats-py: one JSON warning line on standard error (nats-py's own was a
    traceback per failed reconnect attempt, twice a second while NATS is down), and at most one every
    `every_seconds`, with the number of problems since the last line. Whoever connects with it also
    gets nats-py's and asyncio's own lines as one-line warnings (`library_lines_as_json`)."""
    library_lines_as_json()
    last_logged = -every_seconds
    unreported = 0

    async def error_cb(error: Exception) -> None:
        nonlocal last_logged, unreported
        unreported += 1
        now = time.monotonic()
        if now - last_logged < every_seconds:
            return
        _nats_logger.warning(
            "nats connection problem",
            extra={"connection": connection_name, "error": repr(error), "problems": unreported},
        )
        last_logged, unreported = now, 0

    return error_cb


class JetStreamClient:
    """One connection per process, kept warm."""

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self._url = url
        self._timeout = timeout_seconds
        self._loop = EventLoopThread("plutomi-nats")
        self._connection: NatsClient | None = None
        self._jetstream: JetStreamContext | None = None
        self._connect_lock = asyncio.Lock()

    def close(self) -> None:
        """Closes the connection (if one was made) and stops the loop's thread; for a stopping process."""
        if self._connection is not None and not self._connection.is_closed:
            with contextlib.suppress(Exception):
                self._loop.run(self._connection.close(), timeout=self._timeout)
        self._loop.stop()

    def check(self) -> None:
        """Raises when JetStream cannot be reached: for /health."""
        try:
            self._loop.run(self._check(), timeout=self._timeout)
        except Exception as error:
            raise Unavailable("event_bus_unavailable", "NATS JetStream is not reachable") from error

    def publish(self, subject: str, payload: bytes, message_id: str) -> int:
        """Publishes and waits for JetStream's ack (deduplicated by `message_id`); returns the sequence."""
        return self._loop.run(self._publish(subject, payload, message_id), timeout=self._timeout * 2)

    def get(self, stream: str, seq: int) -> StoredMessage | None:
        """The message at `seq`, or None when it was deleted or has aged out."""
        return self._loop.run(self._get(stream, seq), timeout=self._timeout * 2)

    def delete(self, stream: str, seq: int) -> bool:
        return self._loop.run(self._delete(stream, seq), timeout=self._timeout * 2)

    def sequence_range(self, stream: str) -> tuple[int, int]:
        """The first and last sequence the stream holds (first > last when it is empty)."""
        return self._loop.run(self._range(stream), timeout=self._timeout * 2)

    def next_message(self, stream: str, subject: str, from_seq: int) -> StoredMessage | None:
        """The first message on `subject` at or after `from_seq`, or None when there is none."""
        return self._loop.run(self._get(stream, max(from_seq, 1), subject), timeout=self._timeout * 2)

    def subjects(self, stream: str, subjects_filter: str) -> dict[str, int]:
        """How many messages the stream holds on each subject matching `subjects_filter`."""
        return self._loop.run(self._subjects(stream, subjects_filter), timeout=self._timeout * 2)

    def consumer_progress(self, stream: str, durable: str) -> ConsumerProgress | None:
        """The durable consumer's delivered and acked sequences; None when it does not exist."""
        return self._loop.run(self._progress(stream, durable), timeout=self._timeout * 2)

    def find_message(
        self, stream: str, subject: str, message_id: str, since: datetime, until: datetime
    ) -> StoredMessage | None:
        """The message on `subject` published with `Nats-Msg-Id` `message_id` between `since` and
        `until`: read in order, headers only, by a short-lived consumer starting at `since`."""
        coroutine = self._find(stream, subject, message_id, since, until)
        return self._loop.run(coroutine, timeout=self._timeout * 20)

    async def _subjects(self, stream: str, subjects_filter: str) -> dict[str, int]:
        jetstream = await self._jetstream_context()
        info = await jetstream.stream_info(stream, subjects_filter=subjects_filter)
        return dict(info.state.subjects or {})

    async def _progress(self, stream: str, durable: str) -> ConsumerProgress | None:
        from nats.js.errors import NotFoundError

        jetstream = await self._jetstream_context()
        try:
            info = await jetstream.consumer_info(stream, durable)
        except NotFoundError:
            return None
        return ConsumerProgress(
            delivered_seq=int(info.delivered.stream_seq if info.delivered else 0),
            ack_floor_seq=int(info.ack_floor.stream_seq if info.ack_floor else 0),
            num_pending=int(info.num_pending or 0),
            num_ack_pending=int(info.num_ack_pending or 0),
            num_redelivered=int(info.num_redelivered or 0),
        )

    async def _find(
        self, stream: str, subject: str, message_id: str, since: datetime, until: datetime
    ) -> StoredMessage | None:
        from nats.errors import TimeoutError as NatsTimeoutError
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        jetstream = await self._jetstream_context()
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=since,
            ack_policy=AckPolicy.NONE,
            headers_only=True,
            inactive_threshold=30.0,
        )
        subscription = await jetstream.pull_subscribe(subject, stream=stream, config=config)
        try:
            while True:
                try:
                    batch = await subscription.fetch(256, timeout=self._timeout)
                except (TimeoutError, NatsTimeoutError):
                    return None
                for msg in batch:
                    metadata = msg.metadata
                    if (msg.headers or {}).get("Nats-Msg-Id") == message_id:
                        return await self._get(stream, metadata.sequence.stream)
                    if metadata.timestamp > until or metadata.num_pending == 0:
                        return None
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _publish(self, subject: str, payload: bytes, message_id: str) -> int:
        jetstream = await self._jetstream_context()
        ack = await jetstream.publish(
            subject, payload, headers={"Nats-Msg-Id": message_id}, timeout=self._timeout
        )
        return int(ack.seq)

    async def _get(self, stream: str, seq: int, next_on_subject: str | None = None) -> StoredMessage | None:
        """The message at `seq`; with `next_on_subject`, the first on that subject at or after it."""
        from nats.js.errors import NotFoundError

        jetstream = await self._jetstream_context()
        try:
            if next_on_subject is None:
                raw = await jetstream.get_msg(stream, seq)
            else:
                raw = await jetstream.get_msg(stream, seq, subject=next_on_subject, next=True)
        except NotFoundError:
            return None
        found = int(raw.seq or seq)
        return StoredMessage(stream, found, raw.subject or "", raw.data or b"", dict(raw.headers or {}))

    async def _delete(self, stream: str, seq: int) -> bool:
        from nats.js.errors import NotFoundError

        jetstream = await self._jetstream_context()
        try:
            return bool(await jetstream.delete_msg(stream, seq))
        except NotFoundError:
            return False

    async def _range(self, stream: str) -> tuple[int, int]:
        jetstream = await self._jetstream_context()
        info = await jetstream.stream_info(stream)
        return int(info.state.first_seq), int(info.state.last_seq)

    async def _check(self) -> None:
        jetstream = await self._jetstream_context()
        await jetstream.account_info()

    async def _jetstream_context(self) -> JetStreamContext:
        async with self._connect_lock:
            if self._connection is None or self._connection.is_closed:
                import nats

                # nats-py retries a first connection forever when reconnects are unlimited; bound it so
                # /health answers fast while NATS is down, and reconnect forever once connected.
                self._connection = await asyncio.wait_for(
                    nats.connect(
                        self._url,
                        connect_timeout=min(self._timeout, 2),
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=0.5,
                        name="plutomi-jetstream",
                        error_cb=log_nats_error("plutomi-jetstream"),
                    ),
                    timeout=self._timeout,
                )
                self._jetstream = self._connection.jetstream(timeout=self._timeout)
            assert self._jetstream is not None
            return self._jetstream
