"""How events that consumers could not handle move through the retry and dead-letter tiers. Pure.

JetStream reports a message that used up its deliveries with a max-deliveries advisory. The meta
consumer answers each advisory with a pointer, never a copy: an exhausted `C` gets a pointer on
`retry.C`, an exhausted `C-retry` a pointer on `dlq.C`. Both point at the original in `events`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

RETRY_SUFFIX = "-retry"


class Advisory(BaseModel):
    """`io.nats.jetstream.advisory.v1.max_deliver`."""

    model_config = ConfigDict(extra="ignore")
    id: str
    stream: str
    consumer: str
    stream_seq: int
    deliveries: int


class Pointer(BaseModel):
    """Where the original event is: `stream` and `seq` always name the `events` stream."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    stream: str
    seq: int
    consumer: str
    deliveries: int
    advisory_id: str


class AttemptError(BaseModel):
    """One failed attempt, kept so the DLQ can say why."""

    model_config = ConfigDict(frozen=True)
    consumer: str
    event_id: str
    tier: str
    attempt: int
    error_type: str
    message: str
    at: datetime


def retry_subject(consumer: str) -> str:
    return f"retry.{consumer}"


def dlq_subject(consumer: str) -> str:
    return f"dlq.{consumer}"


def business_consumer_of(durable: str) -> str:
    return durable.removesuffix(RETRY_SUFFIX)


def is_retry_tier(durable: str) -> bool:
    return durable.endswith(RETRY_SUFFIX)


def pointer_message_id(subject: str, original_seq: int) -> str:
    """The `Nats-Msg-Id` of a pointer: the same whoever publishes it (the bridge on a final failure, or
    the meta consumer from the advisory of an attempt that crashed), so JetStream keeps one."""
    return f"{subject}:{original_seq}"
