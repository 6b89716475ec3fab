"""The outbox relay: publishes the events use cases wrote to the outbox, with `Nats-Msg-Id` = event
id, then marks them sent. It keeps no state of its own, so it survives restarts; a crash between
publishing and marking only republishes, and JetStream drops the duplicate by its message id.

It runs inside the gateway process (and so in `plutomi dev`), and on its own as `plutomi relay`.
Several relays at once are safe for the same reason.

With a `probe_port` it answers Kubernetes' probes (`runtime/probe.py`): `GET /healthz` 200 while its
NATS connection is up, `GET /livez` 200 while its loop (read the outbox, publish, mark) came round
within `stall_after_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plutomi.adapters.clock import SystemClock
from plutomi.adapters.jetstream_client import log_nats_error
from plutomi.adapters.mongo_outbox import outbox_wakeup
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain.events import Event
from plutomi.observability import runtime_logger as logger
from plutomi.runtime.probe import STALL_AFTER_SECONDS, Heartbeat, liveness_of, probes_served

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.js import JetStreamContext
    from nats.js.api import PubAck


# Publishes awaiting their ack at once: well under nats-py's limit (4,000), so `publish_async` never
# stalls waiting for acks that a lost connection will not bring.
PUBLISH_WINDOW = 1000


@dataclass
class RelayCounters:
    published: int = 0
    failed: int = 0
    batches: int = 0


class OutboxRelay:
    def __init__(
        self,
        store: MongoStore,
        nats_url: str,
        batch_size: int = 500,
        idle_poll_seconds: float = 0.5,
        publish_timeout_seconds: float = 5.0,
        probe_port: int | None = None,
        probe_host: str = "127.0.0.1",
        stall_after_seconds: float = STALL_AFTER_SECONDS,
    ) -> None:
        self.store = store
        self.nats_url = nats_url
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.publish_timeout_seconds = publish_timeout_seconds
        self.counters = RelayCounters()
        self._stopping = asyncio.Event()
        self._clock = SystemClock()
        self.probe_address = None if probe_port is None else (probe_host, probe_port)
        self._heartbeat = Heartbeat(stall_after_seconds)
        self._connection: NatsClient | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """For the readiness probe: ready while the NATS connection is up."""
        return self.connected, {"connected": self.connected, **self.counters.__dict__}

    async def liveness(self) -> tuple[bool, dict[str, Any]]:
        """For the liveness probe: alive while the loop came round within the stall bound."""
        return liveness_of([self._heartbeat], {"connected": self.connected, **self.counters.__dict__})

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.is_connected

    async def run(self) -> None:
        self._heartbeat.beat()
        async with probes_served(self.probe_address, self.health, self.liveness):
            await self._run()

    async def _run(self) -> None:
        import nats

        connection = None
        while connection is None and not self._stopping.is_set():
            self._heartbeat.beat()
            try:
                connection = await asyncio.wait_for(
                    nats.connect(
                        self.nats_url,
                        name="plutomi-relay",
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=0.5,
                        error_cb=log_nats_error("plutomi-relay"),
                    ),
                    timeout=5,
                )
            except Exception as error:
                logger.warning("relay cannot reach NATS yet", extra={"error": repr(error)})
                await self._pause(1.0)
        if connection is None:
            return
        self._connection = connection
        jetstream = connection.jetstream(timeout=self.publish_timeout_seconds)
        logger.info("relay started")
        try:
            await self._relay(jetstream)
        finally:
            self._connection = None
            with contextlib.suppress(Exception):
                await connection.close()
            logger.info("relay stopped", extra=self.counters.__dict__)

    async def _relay(self, jetstream: JetStreamContext) -> None:
        """Publishes batch N while, in a thread, the store marks batch N-1 sent and reads batch N+1
        (leaving out N's events, not marked yet), so the store's work and NATS' overlap. An event
        is marked only once its publish was acknowledged; after a failed publish the batch read
        ahead is dropped and the next read starts again from the oldest pending event."""
        acked: list[str] = []  # published and acknowledged, not marked sent yet
        events: list[Event] = []
        try:
            while not self._stopping.is_set():
                self._heartbeat.beat()
                if not events:
                    events = await asyncio.to_thread(self._mark_then_read, acked, [])
                    acked = []
                    if not events:
                        await asyncio.to_thread(self._wait_for_work)
                        continue
                publishing = asyncio.create_task(self._publish(jetstream, events))
                try:
                    read_ahead = await asyncio.to_thread(
                        self._mark_then_read, acked, [event.id for event in events]
                    )
                finally:
                    acked = await publishing  # even when the store failed: so they get marked
                if len(acked) < len(events):
                    events = []  # the failed ones come first again, after a back-off
                    await asyncio.to_thread(self._mark_then_read, acked, None)
                    acked = []
                    await self._pause(1.0)  # NATS is struggling: back off instead of spinning
                else:
                    events = read_ahead
        finally:
            if acked:  # stopping: what NATS acknowledged is not published again on the next start
                try:
                    await asyncio.to_thread(self._mark_then_read, acked, None)
                except Exception as error:  # they stay pending: published again, then deduplicated
                    logger.warning("relay cannot mark sent", extra={"error": repr(error)})

    def _mark_then_read(self, acked: list[str], excluding: list[str] | None) -> list[Event]:
        """Marks `acked` sent, then reads the next batch without `excluding` (None: no read)."""
        if acked:
            self.store.outbox.mark_sent(acked, self._clock.now())
        if excluding is None:
            return []
        return self.store.outbox.pending(self.batch_size, excluding=excluding)

    async def _publish(self, jetstream: JetStreamContext, events: list[Event]) -> list[str]:
        """Publishes in order on one connection (NATS keeps the order), `PUBLISH_WINDOW` at a time
        without waiting for each ack, then waits up to the publish timeout for the window's acks;
        returns the acknowledged ids."""
        started = time.perf_counter()
        sent = []
        for start in range(0, len(events), PUBLISH_WINDOW):
            window = events[start : start + PUBLISH_WINDOW]
            acks: list[asyncio.Future[PubAck] | BaseException] = []
            for event in window:
                try:
                    payload = event.model_dump_json().encode()
                    acks.append(
                        await jetstream.publish_async(
                            event.subject, payload, headers={"Nats-Msg-Id": event.id}
                        )
                    )
                except Exception as error:
                    acks.append(error)
            waiting = [ack for ack in acks if isinstance(ack, asyncio.Future)]
            if waiting:
                _, unanswered = await asyncio.wait(waiting, timeout=self.publish_timeout_seconds)
                for future in unanswered:  # cancelling also frees its place among the pending acks
                    future.cancel()
            for event, ack in zip(window, acks, strict=True):
                failure = ack if isinstance(ack, BaseException) else _failure(ack)
                if failure is None:
                    sent.append(event.id)
                else:
                    logger.warning("publish failed", extra={"event_id": event.id, "error": repr(failure)})
        self.counters.batches += 1
        self.counters.published += len(sent)
        self.counters.failed += len(events) - len(sent)
        logger.debug(
            "relayed",
            extra={
                "events": len(sent),
                "failed": len(events) - len(sent),
                "ms": (time.perf_counter() - started) * 1e3,
            },
        )
        return sent

    def _wait_for_work(self) -> None:
        if outbox_wakeup.wait(self.idle_poll_seconds):
            outbox_wakeup.clear()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _failure(ack: asyncio.Future[PubAck]) -> BaseException | None:
    if ack.cancelled():
        return TimeoutError("no acknowledgement within the publish timeout")
    return ack.exception()
