"""The bridge: pulls batches from a durable JetStream consumer and calls a handler with an
SQS-shaped event, so one handler serves an SQS trigger on AWS and NATS everywhere else.

One bridge serves one tier (see `topology.Tier`): a business consumer's main tier reads events, its
retry tier reads pointers and fetches the original event by sequence, the meta tiers read advisories.
Records the handler does not list in `batchItemFailures` are acked; the listed ones are nak'ed with
the tier's back-off until JetStream's max deliveries, after which the meta consumer moves them on.
A record that is not even an event (or a pointer) is not retried: it goes straight to the DLQ.
A target that raises has the whole batch nak'ed; one that raises `TargetThrottled` (a throttled
Lambda function, `runtime/lambda_target.py`) also pauses the bridge's pulls and calls for the back-off.
`concurrency` workers each handle one batch at a time, calling the handler in the bridge's own thread
pool of that size (asyncio's default pool would cap them at cpu+4); an in-process handler is imported
before the bridge takes work (`functions.preload`). Each worker fetches its next batch while the
handler works on the current one, so the handler does not wait for NATS between batches. Every
fetched message, handled or waiting its turn, gets in-progress acks until it is settled, so
JetStream does not redeliver long work. On SIGTERM the bridge stops fetching, finishes the batches
in flight (and the one fetched ahead), and exits. The nats client reconnects by itself after a NATS
restart; the bridge keeps fetching.

Every `report_every_seconds`, and once when it stops, the bridge logs a "bridge status" line: its
tier, whether NATS is connected, the consumer's lag from JetStream (`pending`: not delivered yet,
`ack_pending`: delivered and not settled, `redelivered`) and its counters. With a `probe_port` it
serves the same figures on `GET /healthz` (`runtime/probe.py`, readiness): 200 while connected, else
503; and on `GET /livez` (liveness) whether every worker came back for its next batch within
`stall_after_seconds`: 503 once a worker has spent longer than that in one batch (a handler that
never returns), so Kubernetes restarts a bridge that stopped pulling. A NATS outage does not stall
the workers (a failed fetch returns), so it makes the bridge unready, not dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_json_string  # as the formatter: not ASCII-only
from typing import Any

import nats
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from pydantic import ValidationError

from plutomi.adapters.jetstream_client import log_nats_error
from plutomi.domain.delivery import Pointer, dlq_subject, pointer_message_id, retry_subject
from plutomi.domain.events import Event
from plutomi.observability import runtime_logger as logger
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.functions import invoke, preload
from plutomi.runtime.probe import STALL_AFTER_SECONDS, Heartbeat, liveness_of, probes_served
from plutomi.topology import Consumer, Tier, tiers_of

Target = Callable[[dict[str, Any]], dict[str, Any]]
IN_PROGRESS_EVERY_SECONDS = 10.0
REPORT_EVERY_SECONDS = 30.0
LAG_TIMEOUT_SECONDS = 2.0
# A throttle's pause, by how many batches in a row were throttled (the last repeats), when the target
# gives no Retry-After. Not the tier's back-off: a retry tier's is minutes to hours, and a limit that
# refused one call usually takes the next within seconds.
THROTTLE_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)


class TargetThrottled(Exception):
    """A target refused the batch for now (a throttled Lambda function). The bridge naks the batch
    with the back-off and pulls nothing meanwhile, rather than send more into the same limit."""

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds  # None: THROTTLE_BACKOFF_SECONDS


def in_process_target(function: str) -> Target:
    """Calls `function` in this process; its handler is imported now, in the caller's thread."""
    preload((function,))

    def call(event: dict[str, Any]) -> dict[str, Any]:
        result = invoke(function, event)
        return result if isinstance(result, dict) else {}

    return call


@dataclass
class BridgeCounters:
    processed: int = 0
    failed: int = 0
    retried: int = 0
    exhausted: int = 0
    dead_lettered: int = 0
    batches: int = 0
    throttled: int = 0  # batches the target refused for now


def message_id(msg: Msg) -> str:
    return f"{msg.metadata.stream}:{msg.metadata.sequence.stream}"


@dataclass
class Prepared:
    """A fetched message and the record body the handler gets (None: it goes to the DLQ as is)."""

    msg: Msg
    body: str | None
    event_id: str | None
    reason: str = ""
    stream: str = field(init=False)
    stream_seq: int = field(init=False)
    attempt: int = field(init=False)
    message_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.stream, self.stream_seq, self.attempt = _delivery_of(self.msg)
        self.message_id = f"{self.stream}:{self.stream_seq}"


@dataclass
class Handled:
    """A batch the target answered for, to settle: its messages, what to nak and the latency."""

    prepared: list[Prepared]
    verdict: Verdict
    latency_ms: float


@dataclass
class Verdict:
    """What the target said about a batch: the message ids to nak, and the nak's delay (None: each
    failure's own back-off)."""

    failures: set[str]
    delay: float | None = None


class HandlerThreads:
    """`size` threads calling `target`, each call with the caller's context variables (as
    `asyncio.to_thread`), its answer or exception on an asyncio future. What `run_in_executor` on a
    `ThreadPoolExecutor` does, at half its cost per call (a queue and one callback to the loop, no
    concurrent future chained to an asyncio one), which a batch of 10 notices. The threads are the
    bridge's own (asyncio's default pool would cap them at cpu+4)."""

    def __init__(self, target: Target, size: int, name: str) -> None:
        self._target = target
        self._loop = asyncio.get_running_loop()
        self._calls: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}_{n}", daemon=False) for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def call(self, event: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        answer: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._calls.put(Call(contextvars.copy_context(), event, answer))
        return answer

    def close(self) -> None:
        """Calls not started yet are cancelled; a call under way finishes on its own thread."""
        self._closed = True
        for _ in self._threads:
            self._calls.put(None)

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            if self._closed:
                self._answer(call.answer, None, asyncio.CancelledError())
                continue
            try:
                result = call.context.run(self._target, call.event)
            except BaseException as error:  # as a ThreadPoolExecutor: the awaiting task gets it
                self._answer(call.answer, None, error)
            else:
                self._answer(call.answer, result, None)

    def _answer(
        self,
        answer: asyncio.Future[dict[str, Any]],
        result: dict[str, Any] | None,
        error: BaseException | None,
    ) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(_resolve, answer, result, error)


@dataclass
class Call:
    context: contextvars.Context
    event: dict[str, Any]
    answer: asyncio.Future[dict[str, Any]]


def _resolve(answer: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if answer.done():  # cancelled meanwhile
        return
    if error is None:
        answer.set_result(result)
    elif isinstance(error, asyncio.CancelledError):
        answer.cancel()
    else:
        answer.set_exception(error)


class Bridge:
    def __init__(
        self,
        tier: Tier | Consumer,
        nats_url: str,
        target: Target | None = None,
        concurrency: int = 1,
        fetch_timeout: float = 1.0,
        report_every_seconds: float | None = None,
        probe_port: int | None = None,
        probe_host: str = "127.0.0.1",
        stall_after_seconds: float = STALL_AFTER_SECONDS,
    ) -> None:
        self.tier = tiers_of(tier)[0] if isinstance(tier, Consumer) else tier
        if self.tier.function is None and target is None:
            raise ValueError(f"tier {self.tier.durable} has no handler: the DLQ is for people")
        self.nats_url = nats_url
        self.target = target or in_process_target(self.tier.function or "")
        self.concurrency = max(1, concurrency)
        self.fetch_timeout = fetch_timeout
        self.counters = BridgeCounters()
        self._stopping = asyncio.Event()
        self._held: dict[int, Msg] = {}  # fetched and not settled yet, by id()
        self._threads: HandlerThreads | None = None  # one thread per worker, while running
        self.report_every_seconds = report_every_seconds or REPORT_EVERY_SECONDS
        self.probe_address = None if probe_port is None else (probe_host, probe_port)
        self._connection: NatsClient | None = None
        self._resume_at = 0.0  # time.monotonic() before which a throttled bridge pulls and calls nothing
        self._throttled_in_a_row = 0
        self._heartbeats = [Heartbeat(stall_after_seconds) for _ in range(self.concurrency)]
        self._log_caller: tuple[str, int, str] | None = None  # where the message lines say they come from

    @property
    def name(self) -> str:
        return self.tier.durable

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        for heartbeat in self._heartbeats:
            heartbeat.beat()
        async with probes_served(self.probe_address, self.health, self.liveness):
            await self._run()

    async def _run(self) -> None:
        connection = self._connection = await nats.connect(
            self.nats_url,
            name=f"plutomi-bridge-{self.name}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=log_nats_error(f"plutomi-bridge-{self.name}"),
        )
        self._threads = HandlerThreads(self.target, self.concurrency, f"plutomi-{self.name}")
        keepalive = asyncio.create_task(self._keep_in_progress())
        reports = asyncio.create_task(self._report())
        try:
            jetstream = connection.jetstream()
            logger.info("bridge started", extra={"tier": self.name, "stream": self.tier.stream})
            await asyncio.gather(*(self._work(jetstream, heartbeat) for heartbeat in self._heartbeats))
        finally:
            keepalive.cancel()
            reports.cancel()
            stopped = await self.status()
            # Idle by now, unless the bridge was cancelled mid-batch: that thread finishes on its own.
            self._threads.close()
            # Every fetched message was acked or nak'ed by now; anything unacked is redelivered.
            with contextlib.suppress(Exception):
                await connection.close()
            logger.info("bridge stopped", extra=stopped)

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.is_connected

    async def status(self) -> dict[str, Any]:
        """The tier, whether NATS is connected, the consumer's lag (None while JetStream does not
        answer within LAG_TIMEOUT_SECONDS) and the counters."""
        lag: dict[str, int | None] = {"pending": None, "ack_pending": None, "redelivered": None}
        if self._connection is not None and self.connected:
            with contextlib.suppress(Exception):
                info = await asyncio.wait_for(
                    self._connection.jetstream().consumer_info(self.tier.stream, self.name),
                    LAG_TIMEOUT_SECONDS,
                )
                lag = {
                    "pending": info.num_pending,
                    "ack_pending": info.num_ack_pending,
                    "redelivered": info.num_redelivered,
                }
        return {"tier": self.name, "connected": self.connected, **lag, **self.counters.__dict__}

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """For the readiness probe: healthy while the NATS connection is up."""
        figures = await self.status()
        return bool(figures["connected"]), figures

    async def liveness(self) -> tuple[bool, dict[str, Any]]:
        """For the liveness probe: alive while no worker is stuck in one batch past the stall bound."""
        return liveness_of(
            self._heartbeats, {"tier": self.name, "connected": self.connected, **self.counters.__dict__}
        )

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(self.report_every_seconds)
            logger.info("bridge status", extra=await self.status())

    async def _work(self, jetstream: JetStreamContext, heartbeat: Heartbeat) -> None:
        """Fetches, handles and settles batches as a pipeline: the next batch is fetched while the
        handler works on this one, and a batch is settled (acks, naks, log lines) while the handler
        works on the next one, or while the next one is being fetched. The handler still gets this
        worker's batches one at a time, and a message is settled only once the handler has answered
        for its batch."""
        subscription = await jetstream.pull_subscribe_bind(durable=self.name, stream=self.tier.stream)
        ahead = asyncio.create_task(self._fetch(subscription))
        handled: Handled | None = None  # answered, not settled yet
        try:
            while True:
                if handled is not None and not ahead.done():
                    await self._settle_batch(jetstream, handled)  # the wait for NATS settles it
                    handled = None
                batch = await ahead
                heartbeat.beat()  # back for the next batch: this worker is pulling
                stopping = self._stopping.is_set()
                if not stopping:  # the next batch arrives while this one is handled
                    ahead = asyncio.create_task(self._fetch(subscription))
                if batch:  # on a stop, the batch fetched before it is still handled
                    handled = await self._handle(jetstream, batch, handled)
                if stopping:
                    if handled is not None:
                        await self._settle_batch(jetstream, handled)
                    return
        finally:
            # Pending only on a cancel or an error: what it holds is redelivered after the ack wait.
            ahead.cancel()

    async def _fetch(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        await self._wait_out_throttle()
        if self._stopping.is_set():
            return []
        try:
            batch = await subscription.fetch(self.tier.batch_size, timeout=self.fetch_timeout)
        except (TimeoutError, NatsTimeoutError):
            return []
        except Exception as error:  # a NATS restart: the client reconnects, we keep fetching
            logger.warning("fetch failed", extra={"tier": self.name, "error": repr(error)})
            await asyncio.sleep(0.5)
            return []
        self._held.update((id(msg), msg) for msg in batch)
        return batch

    async def _handle(
        self, jetstream: JetStreamContext, batch: list[Msg], previous: Handled | None
    ) -> Handled:
        """Calls the target with `batch` and settles `previous` (the batch before, answered) while
        the target works on this one."""
        self._held.update((id(msg), msg) for msg in batch)
        started = time.perf_counter()
        try:
            try:
                prepared = await self._prepare_all(jetstream, batch)
                answer = await self._ask(prepared)
            finally:
                if previous is not None:
                    await self._settle_batch(jetstream, previous)
            verdict = await self._verdict(prepared, answer)
        except BaseException:
            self._release(batch)  # not settled: redelivered after the ack wait
            raise
        return Handled(prepared, verdict, round((time.perf_counter() - started) * 1000, 2))

    async def _ask(self, prepared: list[Prepared]) -> asyncio.Future[dict[str, Any]] | None:
        """The target's answer for the batch's runnable records, on its way (None: none runnable)."""
        runnable = [p for p in prepared if p.body is not None]
        if not runnable:
            return None
        await self._wait_out_throttle()  # a batch fetched ahead waits too
        try:
            return self._call_target(sqs_event([self._record(p) for p in runnable]))
        except Exception as error:  # as if the handler had raised it
            failed: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            failed.set_exception(error)
            return failed

    async def _verdict(
        self, prepared: list[Prepared], answer: asyncio.Future[dict[str, Any]] | None
    ) -> Verdict:
        """Which records to nak, from the target's answer (or what it raised)."""
        if answer is None:
            return Verdict(set())
        try:
            response = await answer
            self._throttled_in_a_row = 0
            return Verdict({item["itemIdentifier"] for item in response.get("batchItemFailures") or []})
        except TargetThrottled as throttled:
            return Verdict({p.message_id for p in prepared if p.body is not None}, self._throttle(throttled))
        except Exception:
            logger.exception("handler raised; the whole batch will be retried", extra={"tier": self.name})
            return Verdict({p.message_id for p in prepared if p.body is not None})

    async def _settle_batch(self, jetstream: JetStreamContext, handled: Handled) -> None:
        self.counters.batches += 1
        outcomes: list[str] = []
        prepared, verdict = handled.prepared, handled.verdict
        try:
            for item in prepared:
                failed = item.message_id in verdict.failures
                outcomes.append(await self._settle(jetstream, item, failed=failed, delay=verdict.delay))
        finally:
            self._release(p.msg for p in prepared)
            self._log_messages(prepared[: len(outcomes)], outcomes, handled.latency_ms)

    def _release(self, msgs: Iterable[Msg]) -> None:
        for msg in msgs:
            self._held.pop(id(msg), None)

    def _call_target(self, event: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """The handler's answer to `event`, to come from the bridge's threads."""
        if self._threads is None:
            raise RuntimeError("the bridge is not running")
        return self._threads.call(event)

    def _log_messages(self, settled: list[Prepared], outcomes: list[str], latency_ms: float) -> None:
        """One JSON line per message, in the runtime logger's format: the message's event id, stream
        sequence, attempt and outcome, the tier, the consumer and the batch's latency.

        A `logger.info` per message costs more than all the rest the bridge does with a message, and
        the lines of a batch differ only in those four fields. So the runtime logger's formatter
        renders the batch's line once (level, location, timestamp, service, appended keys and all),
        each message's four fields are spliced into it, and the batch is written in one go, under
        the handler's lock, to the runtime logger's stream."""
        stdlib_logger = logging.getLogger(logger.name)
        if not settled or not stdlib_logger.isEnabledFor(logging.INFO):
            return
        shared = {"tier": self.name, "consumer": self.tier.consumer or self.name}

        def extra(line_fields: dict[str, Any]) -> dict[str, Any]:
            return {**shared, **line_fields, "latency_ms": latency_ms}

        handler = logger.registered_handler
        around = None
        if isinstance(handler, logging.StreamHandler):
            if self._log_caller is None:
                self._log_caller = stdlib_logger.findCaller()[:3]
            template = extra(dict.fromkeys(LINE_FIELDS, SPLICE))
            around = _around_line_fields(stdlib_logger, handler, template, self._log_caller)
        if not isinstance(handler, logging.StreamHandler) or around is None:
            for item, outcome in zip(settled, outcomes, strict=True):  # the plain way
                logger.info("message", extra=extra(_line_fields(item, outcome)))
            return
        head, tail = around
        lines = []
        for item, outcome in zip(settled, outcomes, strict=True):
            event_id = "" if item.event_id is None else f'"event_id":{encode_json_string(item.event_id)},'
            own = f'{event_id}"stream_seq":{item.stream_seq},"attempt":{item.attempt},"outcome":"{outcome}"'
            lines.append("{" + ",".join(part for part in (head, own, tail) if part) + "}")
        text = "\n".join(lines) + handler.terminator
        handler.acquire()
        try:
            handler.stream.write(text)
            handler.flush()
        finally:
            handler.release()

    async def _prepare_all(self, jetstream: JetStreamContext, batch: list[Msg]) -> list[Prepared]:
        if self.tier.kind == "retry":
            return [await self._prepare_pointer(jetstream, msg) for msg in batch]
        return [self._prepare(msg, msg.data.decode(errors="replace")) for msg in batch]

    async def _prepare_pointer(self, jetstream: JetStreamContext, msg: Msg) -> Prepared:
        """A retry tier's record: the original event the pointer points at."""
        try:
            pointer = Pointer.model_validate_json(msg.data)
        except ValidationError:
            return Prepared(msg, None, None, "not a pointer")
        try:
            original = await jetstream.get_msg(pointer.stream, pointer.seq)
        except Exception:
            return Prepared(msg, None, None, f"original {pointer.stream} #{pointer.seq} is gone")
        return self._prepare(msg, (original.data or b"").decode(errors="replace"))

    def _prepare(self, msg: Msg, text: str) -> Prepared:
        if self.tier.kind in ("meta", "super-meta"):
            return Prepared(msg, text, None)
        try:
            event = Event.model_validate_json(text)
        except ValidationError:
            return Prepared(msg, None, _event_id(text), "not an event envelope")
        return Prepared(msg, text, event.id)

    def _record(self, item: Prepared) -> dict[str, Any]:
        assert item.body is not None
        msg = item.msg
        return sqs_record(
            item.body,
            message_id=item.message_id,
            receive_count=item.attempt,
            attributes={
                "nats-subject": msg.subject,
                "nats-stream": item.stream,
                "plutomi-tier": self.tier.kind,
                "plutomi-consumer": self.tier.consumer or self.name,
            },
            event_source_arn=f"arn:aws:sqs:us-east-1:000000000000:{self.name}",
        )

    def _throttle(self, throttled: TargetThrottled) -> float:
        """Pauses this bridge's pulls and calls for the back-off (the target's Retry-After, else the
        next of THROTTLE_BACKOFF_SECONDS) and returns it, the delay of the batch's nak."""
        self._throttled_in_a_row += 1
        schedule = THROTTLE_BACKOFF_SECONDS
        backoff = throttled.retry_after_seconds or schedule[min(self._throttled_in_a_row, len(schedule)) - 1]
        self._resume_at = max(self._resume_at, time.monotonic() + backoff)
        self.counters.throttled += 1
        logger.warning(
            "target throttled; pausing",
            extra={"tier": self.name, "backoff_seconds": backoff, "error": str(throttled)},
        )
        return backoff

    async def _wait_out_throttle(self) -> None:
        """Returns once a throttle's pause is over, or at once on a stop."""
        pause = self._resume_at - time.monotonic()
        if pause > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)

    async def _settle(
        self, jetstream: JetStreamContext, item: Prepared, failed: bool, delay: float | None = None
    ) -> str:
        msg = item.msg
        if item.body is None:
            await self._dead_letter(jetstream, item)
            await msg.term()
            self.counters.dead_lettered += 1
            return "dead_lettered"
        if not failed:
            await msg.ack()
            self.counters.processed += 1
            return "ok"
        self.counters.failed += 1
        attempt = item.attempt
        if 0 < self.tier.max_deliveries <= attempt:
            self.counters.exhausted += 1
            if self.tier.kind in ("main", "retry") and await self._hand_on(jetstream, msg, attempt):
                await msg.term()
                return "exhausted"
            # JetStream will not redeliver it; its max-deliveries advisory hands it to the meta consumer.
            await msg.nak()
            return "exhausted"
        await msg.nak(delay=self.tier.delay_after(attempt) if delay is None else delay)
        self.counters.retried += 1
        return "retry"

    async def _hand_on(self, jetstream: JetStreamContext, msg: Msg, attempt: int) -> bool:
        """On a final failure, publishes the pointer to the next tier itself (retry after main, DLQ
        after retry), so the normal path does not depend on an advisory. The advisory of an attempt
        that crashed instead is the backstop; both use the same message id, so one pointer is kept.
        False when publishing failed: the message is then left to its advisory."""
        consumer = self.tier.consumer or self.name
        try:
            if self.tier.kind == "main":
                subject = retry_subject(consumer)
                pointer = Pointer(
                    stream=msg.metadata.stream,
                    seq=msg.metadata.sequence.stream,
                    consumer=consumer,
                    deliveries=attempt,
                    advisory_id=f"bridge-{message_id(msg)}",
                )
            else:
                subject = dlq_subject(consumer)
                earlier = Pointer.model_validate_json(msg.data)
                pointer = earlier.model_copy(
                    update={
                        "deliveries": earlier.deliveries + attempt,
                        "advisory_id": f"bridge-{message_id(msg)}",
                    }
                )
            await jetstream.publish(
                subject,
                pointer.model_dump_json().encode(),
                headers={"Nats-Msg-Id": pointer_message_id(subject, pointer.seq)},
            )
        except Exception as error:
            logger.warning(
                "could not hand on; the advisory will", extra={"tier": self.name, "error": repr(error)}
            )
            return False
        return True

    async def _dead_letter(self, jetstream: JetStreamContext, item: Prepared) -> None:
        """Sends a record that cannot be handled at all straight to the DLQ, as a pointer to itself."""
        consumer = self.tier.consumer or self.name
        msg = item.msg
        if self.tier.kind == "retry":
            with contextlib.suppress(ValidationError):
                earlier = Pointer.model_validate_json(msg.data)
                pointer = earlier.model_copy(update={"advisory_id": f"unusable-{message_id(msg)}"})
                await jetstream.publish(
                    dlq_subject(consumer),
                    pointer.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": f"dlq.{consumer}:{pointer.advisory_id}"},
                )
                return
        pointer = Pointer(
            stream=msg.metadata.stream,
            seq=msg.metadata.sequence.stream,
            consumer=consumer,
            deliveries=msg.metadata.num_delivered,
            advisory_id=f"unusable-{message_id(msg)}",
        )
        await jetstream.publish(
            dlq_subject(consumer),
            pointer.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"dlq.{consumer}:{pointer.advisory_id}"},
        )
        logger.warning("unusable record dead-lettered", extra={"tier": self.name, "reason": item.reason})

    async def _keep_in_progress(self) -> None:
        """An in-progress ack for each message fetched and not yet settled, well within the ack wait,
        so JetStream does not redeliver it while the handler works on it or it waits its turn."""
        ack_wait = self.tier.ack_wait_seconds
        every = min(IN_PROGRESS_EVERY_SECONDS, ack_wait / 3) if ack_wait > 0 else IN_PROGRESS_EVERY_SECONDS
        while True:
            await asyncio.sleep(every)
            for msg in list(self._held.values()):
                with contextlib.suppress(Exception):
                    await msg.in_progress()


LINE_FIELDS = ("event_id", "stream_seq", "attempt", "outcome")  # what differs between a batch's log lines


SPLICE = "plutomi-bridge-line-field"  # what a batch's template line carries in the LINE_FIELDS
SPLICED_MEMBERS = ",".join(f'"{key}":"{SPLICE}"' for key in LINE_FIELDS)


def _around_line_fields(
    stdlib_logger: logging.Logger,
    handler: logging.Handler,
    fields: dict[str, Any],
    caller: tuple[str, int, str],
) -> tuple[str, str] | None:
    """Renders a line with `fields` (the `LINE_FIELDS` among them set to `SPLICE`) as the runtime
    logger would, from `caller`'s (file, line, function), and returns the JSON members before and
    after the `LINE_FIELDS` in it (None: this formatter's lines cannot be spliced)."""
    formatter = handler.formatter
    if not isinstance(formatter, LambdaPowertoolsFormatter):
        return None
    filename, lineno, function = caller
    record = stdlib_logger.makeRecord(
        stdlib_logger.name, logging.INFO, filename, lineno, "message", (), None, function, fields
    )
    line = formatter.format(record)
    start = line.find(SPLICED_MEMBERS)
    # Pretty-printed (POWERTOOLS_DEV: a human reads these), other separators, or SPLICE elsewhere too.
    if start < 0 or "\n" in line or line.count(SPLICE) != len(LINE_FIELDS) or line[:1] + line[-1:] != "{}":
        return None
    return line[1:start].removesuffix(","), line[start + len(SPLICED_MEMBERS) : -1].removeprefix(",")


def _line_fields(item: Prepared, outcome: str) -> dict[str, Any]:
    return {
        "event_id": item.event_id,
        "stream_seq": item.stream_seq,
        "attempt": item.attempt,
        "outcome": outcome,
    }


def _delivery_of(msg: Msg) -> tuple[str, int, int]:
    """The stream, stream sequence and delivery count, from the message's ack subject. The common,
    domain-less form (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.
    <pending>`) is read here: `msg.metadata` also parses the time and builds frozen dataclasses, a
    sizeable share of a small batch's cost. Any other form is left to `msg.metadata`."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS" and tokens[1] == "ACK":
        return tokens[2], int(tokens[5]), int(tokens[4])
    metadata = msg.metadata
    return metadata.stream, metadata.sequence.stream, metadata.num_delivered


def _event_id(text: str) -> str | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    value = parsed.get("id") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None
