"""The JetStream streams and durable consumers, declared as code and applied by `plutomi migrate`.

Applying is idempotent: a stream or consumer that exists is updated to the declared settings,
including its number of replicas (`PLUTOMI_STREAM_REPLICAS`: a NATS cluster moves the copies itself).
Consumers keep their stream's replicas.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError

from plutomi.topology import (
    ADVISORIES_STREAM,
    DLQ_STREAM,
    EVENTS_STREAM,
    MAX_DELIVERIES_ADVISORY,
    RETRY_STREAM,
    Consumer,
    Tier,
    all_tiers,
    tiers_of,
)

DAY = 24 * 3600.0
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
    # Advisories are dropped when nobody listens: this stream keeps them for the meta consumers.
    StreamSpec(ADVISORIES_STREAM, (f"{MAX_DELIVERIES_ADVISORY}.>",), DLQ_RETENTION),
)


class StreamReplicasRefused(RuntimeError):
    """NATS would not keep a stream with the replicas asked for (more than the cluster has servers)."""


def stream_config(spec: StreamSpec, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=spec.max_age_seconds,
        duplicate_window=120.0,
        num_replicas=replicas,
    )


async def apply_stream(jetstream: JetStreamContext, spec: StreamSpec, replicas: int = 1) -> str:
    """Creates the stream, or updates it to `spec` and `replicas`; one line saying which."""
    config = stream_config(spec, replicas)
    applied = f"stream {spec.name} ({replicas} replica{'s' if replicas > 1 else ''})"
    try:
        try:
            await jetstream.stream_info(spec.name)
        except NotFoundError:
            await jetstream.add_stream(config)
            return f"{applied}: created"
        await jetstream.update_stream(config)
    except APIError as error:
        if replicas > 1 and "replica" in (error.description or "").lower():
            raise StreamReplicasRefused(
                f"stream {spec.name}: NATS refused {replicas} replicas ({error.description}); "
                "PLUTOMI_STREAM_REPLICAS needs a JetStream cluster of at least that many servers "
                "(1 on a single server)"
            ) from error
        raise
    return f"{applied}: updated"


def tier_config(tier: Tier) -> ConsumerConfig:
    return ConsumerConfig(
        name=tier.durable,
        durable_name=tier.durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=tier.ack_wait_seconds,
        max_deliver=tier.max_deliveries,
        filter_subjects=list(tier.filter_subjects),
        max_ack_pending=1000,
    )


def consumer_config(consumer: Consumer) -> ConsumerConfig:
    """The main tier of a business consumer."""
    return tier_config(tiers_of(consumer)[0])


async def apply_topology(jetstream: JetStreamContext, stream_replicas: int = 1) -> list[str]:
    """Creates or updates every stream and consumer; returns a line per thing applied."""
    applied = [await apply_stream(jetstream, spec, stream_replicas) for spec in STREAMS]
    for tier in all_tiers():
        await jetstream.add_consumer(tier.stream, tier_config(tier))
        applied.append(f"consumer {tier.durable} on {tier.stream}: applied")
    return applied
