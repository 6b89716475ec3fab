"""Shared glue for event consumers: SQS-shaped batches, partial failures, once per event.

The same handler serves an SQS trigger on AWS and the NATS bridge everywhere else. A record whose
body is not an event envelope is reported as a failure; the rest of the batch carries on. A consumer
whose work mostly waits on others (webhook receivers) handles several records of a batch at once,
each with its own claim and its own outcome.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.adapters.mongo_idempotency import MongoIdempotencyStore, record_org
from plutomi.bootstrap import dependencies
from plutomi.domain.delivery import AttemptError
from plutomi.domain.events import Event
from plutomi.observability import invocation_log_keys, logger
from plutomi.services import dead_letters
from plutomi.services.parallel import side_by_side

IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600


def consumer_handler(
    name: str,
    process: Callable[[Event], dict[str, Any]],
    *,
    once_per_event: bool = True,
    records_at_once: int = 1,
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """Builds the Lambda handler of consumer `name`: each event's side effect runs once per event id.
    `once_per_event=False` is for a consumer whose work is safe to repeat and must not wait for an
    idempotency record (the org purge): every delivery runs it. `records_at_once` records of a batch
    are handled side by side (in threads)."""

    def process_once(event: dict[str, Any]) -> dict[str, Any]:
        return process(Event.model_validate(event))

    process_once.__qualname__ = _once_qualname(name)  # the idempotency key is scoped per consumer
    # One persistence layer per consumer: Powertools configures the layer with the function's name on
    # every call, so a layer shared by two consumers in one process would mix up their keys.
    store = MongoIdempotencyStore(lambda: dependencies().store.items)

    def once_within(context: LambdaContext) -> Callable[..., dict[str, Any]]:
        """`process_once` for one invocation: a claim lasts as long as the invocation has left. The
        config carries the context Powertools reads that from, so each invocation has its own (the
        bridge runs several batches of one consumer at once; one shared config would give every
        claim the time left of whichever batch started last)."""
        config = _idempotency_config(context)
        decorate = idempotent_function(data_keyword_argument="event", config=config, persistence_store=store)
        once: Callable[..., dict[str, Any]] = decorate(process_once)
        return once

    def record_handler(record: SQSRecord, once: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        event = Event.model_validate_json(record.body)
        # The event's idempotency record carries its org, so purging the org removes it.
        token = record_org.set(event.org_id)
        try:
            outcome: dict[str, Any] = (
                once(event=event.model_dump(mode="json")) if once_per_event else process(event)
            )
        except Exception as error:
            _record_failure(name, event, record, error)
            raise
        finally:
            record_org.reset(token)
        logger.info(
            "event handled",
            extra={"consumer": name, "event_id": event.id, "event_type": event.type, "outcome": outcome},
        )
        return outcome

    @invocation_log_keys()
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        response = process_partial_response(
            event=event,
            record_handler=functools.partial(record_handler, once=once_within(context)),
            processor=new_batch_processor(records_at_once),
            context=context,
        )
        return dict(response)

    return handler


def _idempotency_config(context: LambdaContext | None = None) -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="id",
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
        lambda_context=context,
    )


def _once_qualname(name: str) -> str:
    return f"{name}.process_once"


def idempotency_key(name: str, event_id: str) -> str:
    """The key of consumer `name`'s idempotency record of an event, as its handler writes it in this
    environment (Powertools prefixes the Lambda function's name, `test-func` outside Lambda)."""
    store = MongoIdempotencyStore(lambda: dependencies().store.items)
    store.configure(_idempotency_config(), function_name=f"{__name__}.{_once_qualname(name)}")
    key = store._get_hashed_idempotency_key({"id": event_id})
    assert key is not None
    return key


def time_budget(seconds: float) -> Callable[[], bool]:
    """`keep_going` for long work: True until `seconds` from now have passed."""
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() < deadline


def new_batch_processor(records_at_once: int = 1) -> BatchProcessor:
    """A processor per invocation: it holds the batch's state, and the bridge may run several batches
    of one consumer at once in one process (Lambda never does, so Powertools' examples share one).
    A batch whose every record failed is still a partial response listing them all, not an error:
    the bridge and SQS then retry each record on its own back-off, like any other failure."""
    if records_at_once > 1:
        return SideBySideBatchProcessor(records_at_once)
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def batch_handler(
    handle: Callable[[SQSRecord], dict[str, Any]],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of an SQS-shaped batch whose records `handle` takes one at a time: a record
    it raises for is reported in `batchItemFailures`, the rest of the batch carries on. No idempotency
    layer: `handle` is safe to repeat."""

    @invocation_log_keys()
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return dict(
            process_partial_response(
                event=event, record_handler=handle, processor=new_batch_processor(), context=context
            )
        )

    return handler


class SideBySideBatchProcessor(BatchProcessor):
    """Powertools' batch processor, handling up to `records_at_once` records at once. Each record's
    success or failure is still its own (Powertools appends them to lists, safe from threads)."""

    def __init__(self, records_at_once: int) -> None:
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.records_at_once = records_at_once

    def process(self) -> list[tuple[Any, ...]]:
        return side_by_side(self._process_record, self.records, self.records_at_once)


def _record_failure(consumer: str, event: Event, record: SQSRecord, error: Exception) -> None:
    """Keeps why this attempt failed, so the DLQ can show it; never hides the original error."""
    tier = record.message_attributes["plutomi-tier"]
    failure = AttemptError(
        consumer=consumer,
        event_id=event.id,
        tier=(tier.string_value if tier else None) or "sqs",
        attempt=int(record.attributes.approximate_receive_count),
        error_type=type(error).__name__,
        message=str(error)[:1000],
        at=datetime.now(UTC),
    )
    logger.warning(
        "event failed",
        extra={
            "consumer": consumer,
            "event_id": event.id,
            "tier": failure.tier,
            "attempt": failure.attempt,
            "error_type": failure.error_type,
        },
    )
    try:
        dead_letters.record_failure(dependencies(), failure, event.org_id)
    except Exception:
        logger.exception("could not record the failure", extra={"consumer": consumer, "event_id": event.id})
