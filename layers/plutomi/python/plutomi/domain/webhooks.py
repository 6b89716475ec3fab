"""Webhooks: an org's subscriptions to its events, the signature on each delivery, and the rules that
decide whether a delivery is done, failed for good, or retried. Pure: the caller supplies the time.

A delivery is the event envelope as JSON, signed `Plutomi-Signature: t=<unix>,v1=<hex>` where the hex
is HMAC-SHA256, keyed with the webhook's secret, of `"<t>.<body>"`. Receivers check the signature and
reject old timestamps, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from plutomi.domain import events
from plutomi.domain.errors import InvalidInput
from plutomi.domain.models import OrgItem

ALL_ORG_EVENTS = "*"
# Events about a person rather than an org: they carry no org id and are never delivered (a login
# code in particular must never leave Plutomi), so nobody may subscribe to them.
PERSONAL_EVENT_TYPES = frozenset(
    {events.TOTP_REQUESTED, events.USER_CREATED, events.USER_UPDATED, events.SESSION_CREATED}
)
ORG_EVENT_TYPES = events.EVENT_TYPES - PERSONAL_EVENT_TYPES
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_URL_LENGTH = 2048
MAX_WEBHOOKS_PER_ORG = 20
SIGNATURE_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret

Outcome = Literal["delivered", "failed_permanent", "failed_will_retry"]
DELIVERED: Outcome = "delivered"
FAILED_PERMANENT: Outcome = "failed_permanent"
FAILED_WILL_RETRY: Outcome = "failed_will_retry"
# Outcomes after which the webhook never sees this event again, whatever else retries it.
FINAL_OUTCOMES = frozenset({DELIVERED, FAILED_PERMANENT})


class Webhook(OrgItem):
    TYPE = "webhook"
    url: str
    event_types: list[str]
    description: str = ""
    secret: str
    enabled: bool = True
    created_by: str
    version: int = 0


class Delivery(OrgItem):
    """One attempt to deliver one event to one webhook."""

    TYPE = "webhook_delivery"
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int
    status_code: int | None
    outcome: Outcome
    latency_ms: int
    error: str | None = None


class SendResult(NamedTuple):
    """What a sender reports: the status (None when no response came), the time it took, what failed."""

    status_code: int | None
    latency_ms: int
    error: str | None


# ---------------------------------------------------------------- signatures


def _digest(secret: str, timestamp: int, body: bytes | str) -> str:
    payload = body.encode() if isinstance(body, str) else body
    message = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The `Plutomi-Signature` header value for a body sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    now: datetime | float,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Whether `header` signs `body` with `secret`, at a time within `tolerance_seconds` of `now`.

    Several `v1` values are accepted (any may match), so a secret can be rotated; comparison is in
    constant time. A missing, malformed, stale or future timestamp is a rejection, never an error."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and timestamp is None:
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret, timestamp, body)
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched


# ---------------------------------------------------------------- validation


def validate_webhook_url(url: str, allow_local_http: bool) -> str:
    """The URL to deliver to. https only; plain http only to this machine, and only in development."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidInput("invalid_webhook_url", f"The URL must be 1 to {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise InvalidInput("invalid_webhook_url", "The URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError as error:
        raise InvalidInput("invalid_webhook_url", f"The URL is not valid: {error}") from error
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidInput("invalid_webhook_url", "The URL needs a host, as in https://example.com/hooks")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "invalid_webhook_url", "Put no credentials in the URL; check the signature on each delivery"
        )
    scheme = parts.scheme.lower()
    if scheme == "https":
        return url
    if scheme == "http" and allow_local_http and host in LOCAL_HOSTS:
        return url
    if scheme == "http" and allow_local_http:
        raise InvalidInput(
            "invalid_webhook_url", "Use https; plain http is only allowed to localhost in development"
        )
    raise InvalidInput("invalid_webhook_url", "Use an https:// URL")


def validate_event_types(event_types: Iterable[str]) -> list[str]:
    """The event types in the order given, without repeats. `*` means every org event."""
    wanted: list[str] = []
    for event_type in event_types:
        event_type = event_type.strip()
        if event_type != ALL_ORG_EVENTS and event_type not in ORG_EVENT_TYPES:
            known = ", ".join(sorted(ORG_EVENT_TYPES))
            raise InvalidInput(
                "invalid_event_type", f"{event_type!r} is not an org event type; use * or one of: {known}"
            )
        if event_type not in wanted:
            wanted.append(event_type)
    if not wanted:
        raise InvalidInput("invalid_event_type", "Name at least one event type, or * for all org events")
    return wanted


# ---------------------------------------------------------------- delivery rules


def classify(status_code: int | None) -> Outcome:
    """2xx is delivered. 4xx is the receiver refusing for good, except 408 and 429, which ask us to come
    back later. No answer (a network error or timeout), a redirect (never followed) and 5xx: retried."""
    if status_code is None:
        return FAILED_WILL_RETRY
    if 200 <= status_code < 300:
        return DELIVERED
    if 400 <= status_code < 500 and status_code not in (408, 429):
        return FAILED_PERMANENT
    return FAILED_WILL_RETRY


def wants(webhook: Webhook, event_type: str) -> bool:
    """Whether the webhook is to receive an event of this type: it is enabled, the event is an org
    event, and the webhook subscribed to the type or to every org event."""
    if not webhook.enabled or event_type not in ORG_EVENT_TYPES:
        return False
    return ALL_ORG_EVENTS in webhook.event_types or event_type in webhook.event_types


def delivery_headers(event_id: str, event_type: str, signature: str) -> dict[str, str]:
    """The Plutomi headers of a delivery; the sender adds Content-Type and User-Agent."""
    return {"Plutomi-Event-Id": event_id, "Plutomi-Event-Type": event_type, "Plutomi-Signature": signature}
