"""The bridge: pulls batches from a durable JetStream consumer and calls the consumer's handler with
an SQS-shaped event, so one handler serves an SQS trigger on AWS and NATS everywhere else.

Records the handler does not list in `batchItemFailures` are acked; the listed ones are nak'ed with
the consumer's back-off. While the handler runs, every message gets in-progress acks so JetStream does
not redeliver long work. On SIGTERM the bridge stops fetching, finishes its batch, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError

from plutomi.adapters.jetstream import EVENTS_STREAM
from plutomi.observability import runtime_logger as logger
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.functions import invoke
from plutomi.topology import Consumer

Target = Callable[[dict[str, Any]], dict[str, Any]]
IN_PROGRESS_EVERY_SECONDS = 10.0


def in_process_target(function: str) -> Target:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        result = invoke(function, event)
        return result if isinstance(result, dict) else {}

    return call


@dataclass
class BridgeCounters:
    processed: int = 0
    failed: int = 0
    batches: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


def message_id(msg: Msg) -> str:
    return f"{msg.metadata.stream}:{msg.metadata.sequence.stream}"


def to_record(msg: Msg) -> dict[str, Any]:
    return sqs_record(
        msg.data.decode(errors="replace"),
        message_id=message_id(msg),
        receive_count=msg.metadata.num_delivered,
        attributes={"nats-subject": msg.subject, "nats-stream": msg.metadata.stream},
        event_source_arn=f"arn:aws:sqs:us-east-1:000000000000:{msg.metadata.consumer}",
    )


class Bridge:
    def __init__(
        self,
        consumer: Consumer,
        nats_url: str,
        target: Target | None = None,
        stream: str = EVENTS_STREAM,
        fetch_timeout: float = 1.0,
    ) -> None:
        self.consumer = consumer
        self.nats_url = nats_url
        self.target = target or in_process_target(consumer.function)
        self.stream = stream
        self.fetch_timeout = fetch_timeout
        self.counters = BridgeCounters()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        connection = await nats.connect(
            self.nats_url,
            name=f"plutomi-bridge-{self.consumer.name}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
        )
        try:
            jetstream = connection.jetstream()
            subscription = await jetstream.pull_subscribe_bind(durable=self.consumer.name, stream=self.stream)
            logger.info("bridge started", extra={"consumer": self.consumer.name, "stream": self.stream})
            while not self._stopping.is_set():
                try:
                    batch = await subscription.fetch(self.consumer.batch_size, timeout=self.fetch_timeout)
                except (TimeoutError, NatsTimeoutError):
                    continue
                except Exception as error:  # a NATS restart: the client reconnects, we keep fetching
                    logger.warning(
                        "fetch failed", extra={"consumer": self.consumer.name, "error": repr(error)}
                    )
                    await asyncio.sleep(0.5)
                    continue
                if batch:
                    await self.process(batch)
        finally:
            # Every fetched message was acked or nak'ed by now; anything unacked is redelivered.
            with contextlib.suppress(Exception):
                await connection.close()
            logger.info("bridge stopped", extra={"consumer": self.consumer.name, **self.counters.__dict__})

    async def process(self, batch: list[Msg]) -> None:
        started = time.perf_counter()
        keepalive = asyncio.create_task(self._keep_in_progress(batch))
        try:
            response = await asyncio.to_thread(self.target, sqs_event(to_record(msg) for msg in batch))
            failures = {item["itemIdentifier"] for item in response.get("batchItemFailures") or []}
        except Exception as error:
            logger.exception(
                "handler raised; the whole batch will be retried", extra={"consumer": self.consumer.name}
            )
            failures = {message_id(msg) for msg in batch}
            response = {"error": repr(error)}
        finally:
            keepalive.cancel()
        self.counters.batches += 1
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        for msg in batch:
            attempt = msg.metadata.num_delivered
            if message_id(msg) in failures:
                self.counters.failed += 1
                await msg.nak(delay=self._backoff(attempt))
                outcome = "retry"
            else:
                self.counters.processed += 1
                await msg.ack()
                outcome = "ok"
            logger.info(
                "message",
                extra={
                    "consumer": self.consumer.name,
                    "event_id": _event_id(msg),
                    "stream_seq": msg.metadata.sequence.stream,
                    "attempt": attempt,
                    "outcome": outcome,
                    "latency_ms": latency_ms,
                },
            )

    def _backoff(self, attempt: int) -> float:
        delays = self.consumer.backoff_seconds
        return delays[min(attempt, len(delays)) - 1] if delays else 1.0

    @staticmethod
    async def _keep_in_progress(batch: list[Msg]) -> None:
        while True:
            await asyncio.sleep(IN_PROGRESS_EVERY_SECONDS)
            for msg in batch:
                with contextlib.suppress(Exception):
                    await msg.in_progress()


def _event_id(msg: Msg) -> str | None:
    if msg.headers and "Nats-Msg-Id" in msg.headers:
        return msg.headers["Nats-Msg-Id"]
    try:
        parsed = json.loads(msg.data)
    except ValueError:
        return None
    return parsed.get("id") if isinstance(parsed, dict) else None
