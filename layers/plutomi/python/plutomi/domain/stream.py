"""What the event streams hold, as the use cases read it: a stored message and where a durable
consumer is in its stream. Pure data; the JetStream adapter fills it in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredMessage:
    stream: str
    seq: int
    subject: str
    data: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class ConsumerProgress:
    """Where a durable consumer is in its stream (JetStream's consumer info)."""

    delivered_seq: int  # the highest stream sequence delivered so far
    ack_floor_seq: int  # every message at or below it is acked (or terminated)
    num_pending: int  # matching messages not delivered yet
    num_ack_pending: int  # delivered and neither acked nor terminated
    num_redelivered: int
