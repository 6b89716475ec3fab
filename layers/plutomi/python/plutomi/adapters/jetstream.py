"""The JetStream streams and durable consumers, declared as code and applied by `plutomi migrate`.

Applying is idempotent: a stream or consumer that exists is updated to the declared settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from plutomi.topology import CONSUMERS, Consumer

DAY = 24 * 3600.0
EVENTS_STREAM = "events"
RETRY_STREAM = "events-retry"
DLQ_STREAM = "events-dlq"
ADVISORIES_STREAM = "advisories"
MAX_DELIVERIES_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>"
DLQ_RETENTION = 14 * DAY
# A DLQ entry points at the original in `events`, so `events` outlives every pointer.
EVENTS_RETENTION = 30 * DAY


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_seconds: float


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(EVENTS_STREAM, ("events.>",), EVENTS_RETENTION),
    StreamSpec(RETRY_STREAM, ("retry.>",), DLQ_RETENTION),
    StreamSpec(DLQ_STREAM, ("dlq.>",), DLQ_RETENTION),
    StreamSpec(ADVISORIES_STREAM, (MAX_DELIVERIES_ADVISORY,), DLQ_RETENTION),
)


def stream_config(spec: StreamSpec) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=spec.max_age_seconds,
        duplicate_window=120.0,
    )


def consumer_config(consumer: Consumer) -> ConsumerConfig:
    return ConsumerConfig(
        name=consumer.name,
        durable_name=consumer.name,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30.0,
        max_deliver=consumer.max_deliveries,
        filter_subjects=list(consumer.filter_subjects),
        max_ack_pending=1000,
    )


async def apply_topology(jetstream: JetStreamContext) -> list[str]:
    """Creates or updates every stream and consumer; returns a line per thing applied."""
    applied = []
    for spec in STREAMS:
        config = stream_config(spec)
        try:
            await jetstream.stream_info(spec.name)
            await jetstream.update_stream(config)
            applied.append(f"stream {spec.name}: updated")
        except NotFoundError:
            await jetstream.add_stream(config)
            applied.append(f"stream {spec.name}: created")
    for consumer in CONSUMERS:
        await jetstream.add_consumer(EVENTS_STREAM, consumer_config(consumer))
        applied.append(f"consumer {consumer.name}: applied")
    return applied
