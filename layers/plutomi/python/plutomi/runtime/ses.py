"""`plutomi ses stats|simulate|poll`: sending health against SES's thresholds, simulated SES feedback
on the local endpoint, and the SES feedback poller on its own."""

from __future__ import annotations

import json
from collections.abc import Callable

from plutomi.domain.email_feedback import (
    BOUNCE_KINDS,
    FeedbackKind,
    Rate,
    RateStatus,
    SendingHealth,
)
from plutomi.runtime.probe import STALL_AFTER_SECONDS

# `plutomi ses stats` exits like a monitoring check: 0 ok, 1 warning, 2 at or above a review threshold.
EXIT_CODES = {RateStatus.OK: 0, RateStatus.WARNING: 1, RateStatus.REVIEW: 2, RateStatus.PAUSE: 2}


def _percent(value: float) -> str:
    return f"{value * 100:.4f}".rstrip("0").rstrip(".") + "%"


def _rate_line(rate: Rate, what: str) -> str:
    value = "n/a" if rate.value is None else f"{rate.value * 100:.2f}%"
    limits = rate.thresholds
    counted = f"{rate.count} {what}" if rate.count == 1 else f"{rate.count} {what}s"
    return (
        f"{rate.name + ' rate':<15} {value:>7}  ({counted})  "
        f"warning at {_percent(limits.warning)}, review at {_percent(limits.review)}, "
        f"pause at {_percent(limits.pause)}: {rate.status.value.upper()}"
    )


def _advice(rate: Rate) -> str | None:
    if rate.value is None or rate.status is RateStatus.OK:
        return None
    value, limits = f"{rate.value * 100:.2f}%", rate.thresholds
    if rate.status is RateStatus.WARNING:
        return (
            f"WARNING: the {rate.name} rate ({value}) is approaching SES's review threshold "
            f"({_percent(limits.review)}); find the cause before SES puts the account under review"
        )
    if rate.status is RateStatus.REVIEW:
        return (
            f"REVIEW: the {rate.name} rate ({value}) is at or above SES's review threshold "
            f"({_percent(limits.review)}): SES may put the account under review"
        )
    return (
        f"PAUSE: the {rate.name} rate ({value}) is at or above SES's pause threshold "
        f"({_percent(limits.pause)}): SES may pause sending from the account"
    )


def render_health(health: SendingHealth, days: int) -> list[str]:
    counts = health.counts
    bounced = sum(counts.get(kind, 0) for kind in BOUNCE_KINDS)
    lines = [
        f"SES sending health, last {days} days ({health.since:%Y-%m-%d %H:%M} to "
        f"{health.until:%Y-%m-%d %H:%M} UTC)",
        f"emails with an outcome: {health.sends} ({counts.get(FeedbackKind.DELIVERY, 0)} delivered, "
        f"{bounced} bounced: {counts.get(FeedbackKind.PERMANENT_BOUNCE, 0)} permanent, "
        f"{counts.get(FeedbackKind.TRANSIENT_BOUNCE, 0)} transient, "
        f"{counts.get(FeedbackKind.UNDETERMINED_BOUNCE, 0)} undetermined); "
        f"{counts.get(FeedbackKind.COMPLAINT, 0)} complaints",
        _rate_line(health.bounce_rate, "permanent bounce"),
        _rate_line(health.complaint_rate, "complaint"),
    ]
    if health.sends == 0:
        lines.append("no SES feedback recorded in this window")
    advice = [line for line in (_advice(health.bounce_rate), _advice(health.complaint_rate)) if line]
    lines.extend(advice or ["ok: both rates are below their warning thresholds"])
    return lines


def stats(days: int, say: Callable[[str], None] = print) -> int:
    from plutomi.bootstrap import dependencies
    from plutomi.services.email_feedback import sending_health

    if days < 1:
        raise SystemExit("plutomi: --days must be at least 1")
    health = sending_health(dependencies(), days)
    for line in render_health(health, days):
        say(line)
    return EXIT_CODES[health.status]


def simulate(kind: str, to: str, bounce_type: str, subtype: str | None, feedback_id: str | None) -> int:
    from plutomi.config import get_settings
    from plutomi.runtime.ses_feedback_local import simulate as publish_simulated

    settings = get_settings()
    if not settings.aws_endpoint_url:
        raise SystemExit("plutomi: ses simulate publishes to a local endpoint; set AWS_ENDPOINT_URL")
    try:
        notification = publish_simulated(
            settings,
            kind,  # type: ignore[arg-type]
            to,
            bounce_type=bounce_type,  # type: ignore[arg-type]
            bounce_subtype=subtype,
            feedback_id=feedback_id,
        )
    except LookupError as error:
        raise SystemExit(f"plutomi: {error}") from error
    print(f"published to {settings.ses_feedback_topic}:")
    print(json.dumps(notification, indent=2))
    return 0


def poll(
    wait_seconds: int = 1,
    probe_port: int | None = None,
    stall_after_seconds: float = STALL_AFTER_SECONDS,
) -> int:
    """Runs a poller per SQS consumer until SIGTERM; with a `probe_port`, `GET /healthz` is 200 while
    every poller's last poll reached its queue and `GET /livez` 200 while each came round within the
    stall bound (`runtime/probe.py`)."""
    import asyncio
    import signal
    from typing import Any

    from plutomi.config import get_settings
    from plutomi.runtime.probe import liveness_of, probes_served
    from plutomi.runtime.sqs_poller import SqsPoller, fed_consumers
    from plutomi.topology import SQS_CONSUMERS

    settings = get_settings()
    pollers = [
        SqsPoller.for_consumer(
            consumer,
            settings,
            wait_seconds=wait_seconds,
            stall_after_seconds=stall_after_seconds,
        )
        for consumer in fed_consumers(SQS_CONSUMERS, settings)
    ]

    def figures() -> dict[str, Any]:
        return {
            "ready": {poller.name: poller.ready for poller in pollers},
            "consecutive_failures": {poller.name: poller.consecutive_failures for poller in pollers},
        }

    async def health() -> tuple[bool, dict[str, Any]]:
        return all(poller.ready for poller in pollers), figures()

    async def liveness() -> tuple[bool, dict[str, Any]]:
        return liveness_of([poller.heartbeat for poller in pollers], figures())

    def stop() -> None:
        for poller in pollers:
            poller.stop()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        # 0.0.0.0: the kubelet probes the pod's address.
        address = None if probe_port is None else ("0.0.0.0", probe_port)  # noqa: S104
        async with probes_served(address, health, liveness):
            await asyncio.gather(*(poller.run() for poller in pollers))

    asyncio.run(main())
    return 0
