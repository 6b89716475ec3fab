"""Webhooks: an org's subscriptions to its events, the signature on each delivery, and the rules that
decide whether a delivery is done, failed for good, or retried. Pure: the caller supplies the time.

A delivery is the event envelope as JSON, signed `Plutomi-Signature: t=<unix>,v1=<hex>` where the hex
is HMAC-SHA256, keyed with the webhook's secret, of `"<t>.<body>"`. Receivers check the signature and
reject old timestamps, so a captured delivery cannot be replayed later.

A URL is https to a public host (`plutomi.domain.network` decides on addresses), and what an attempt
records is one of a few fixed reasons, so neither can be used to explore the internal network.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from http import HTTPStatus
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from plutomi.domain import events
from plutomi.domain.errors import InvalidInput
from plutomi.domain.models import OrgItem
from plutomi.domain.network import IPAddress, host_refusal, parse_host, resolved_refusal

ALL_ORG_EVENTS = "*"
# Events about a person rather than an org: they carry no org id and are never delivered (a login
# code in particular must never leave Plutomi), so nobody may subscribe to them.
PERSONAL_EVENT_TYPES = frozenset({events.TOTP_REQUESTED, events.USER_CREATED, events.USER_UPDATED})
ORG_EVENT_TYPES = events.EVENT_TYPES - PERSONAL_EVENT_TYPES
# Plain http is allowed to these hosts (however spelled: 127.1 is 127.0.0.1), in development only.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
INVALID_URL = "invalid_webhook_url"
NOT_PUBLIC = "webhook_url_not_public"
MAX_URL_LENGTH = 2048
MAX_WEBHOOKS_PER_ORG = 20
SIGNATURE_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
EVENT_ID_HEADER = "Plutomi-Event-Id"
EVENT_TYPE_HEADER = "Plutomi-Event-Type"
SIGNATURE_HEADER = "Plutomi-Signature"

Outcome = Literal["delivered", "failed_permanent", "failed_will_retry"]
DELIVERED: Outcome = "delivered"
FAILED_PERMANENT: Outcome = "failed_permanent"
FAILED_WILL_RETRY: Outcome = "failed_will_retry"
# Outcomes after which the webhook never sees this event again, whatever else retries it.
FINAL_OUTCOMES = frozenset({DELIVERED, FAILED_PERMANENT})

# What a failed attempt says (Delivery.error), from this short list only. The org's members read it, so
# it never carries the receiver's body, an exception's text, an address or a Location: a webhook must
# not tell anyone what listens where, whether a port refused, spoke HTTP or had TLS.
NO_RESPONSE = "no response"  # refused, unreachable, timed out, TLS or HTTP broken, name not resolved
NOT_SENT_NOT_PUBLIC = "not sent: the host is not a public internet address"
NOT_SENT_INVALID_URL = "not sent: the URL is not allowed here"


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
    """What a sender reports: the status (None when no response came), the time it took, what failed
    (one of the reasons above, or `status_reason`), and whether it refused to send at all (`blocked`:
    the URL or its addresses are not allowed, which no retry changes)."""

    status_code: int | None
    latency_ms: int
    error: str | None
    blocked: bool = False


class WebhookTarget(NamedTuple):
    """Where a delivery goes, read from a webhook URL that passed `parse_webhook_url`."""

    scheme: str  # "https", or "http" to this machine in development
    host: str  # normalised (IDNA, lower case, no trailing dot; an address in standard form)
    port: int
    request_target: str  # path and query, as on the request line
    address: IPAddress | None  # when the host is an address: nothing to resolve


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


def parse_webhook_url(url: str, allow_loopback: bool) -> WebhookTarget:
    """Where a webhook URL delivers to. https only; plain http only to localhost in development. A
    host that is an address (in any spelling) must be a public one, and `localhost` is refused; loopback
    is allowed only with `allow_loopback` (development). A name is checked on what it resolves to by
    the caller: see `check_resolved`.

    Raises InvalidInput `invalid_webhook_url`, or `webhook_url_not_public` for an internal host."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidInput(INVALID_URL, f"The URL must be 1 to {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise InvalidInput(INVALID_URL, "The URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        explicit_port = parts.port  # raises for a port that is not a number in range
    except ValueError as error:
        raise InvalidInput(INVALID_URL, f"The URL is not valid: {error}") from error
    written = (parts.hostname or "").lower()
    if not written:
        raise InvalidInput(INVALID_URL, "The URL needs a host, as in https://example.com/hooks")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(INVALID_URL, "Put no credentials in the URL; check the signature on each delivery")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise InvalidInput(INVALID_URL, "Use an https:// URL")
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    try:
        host = parse_host(written, bracketed=bracketed)
    except ValueError as error:
        raise InvalidInput(INVALID_URL, f"The URL's host is not valid: {error}") from None
    if scheme == "http" and not (allow_loopback and host.name in LOCAL_HOSTS):
        if allow_loopback:
            raise InvalidInput(
                INVALID_URL, "Use https; plain http is only allowed to localhost in development"
            )
        raise InvalidInput(INVALID_URL, "Use an https:// URL")
    kind = host_refusal(host, allow_loopback)
    if kind is not None:
        spelled = written if bracketed or written == host.name else f"{written} ({host.name})"
        raise InvalidInput(
            NOT_PUBLIC,
            f"The host {spelled} is not a public internet address ({kind}); webhooks are only "
            "delivered to public hosts",
        )
    request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    port = explicit_port if explicit_port is not None else (443 if scheme == "https" else 80)
    return WebhookTarget(scheme, host.name, port, request_target, host.address)


def validate_webhook_url(url: str, allow_loopback: bool) -> str:
    """The URL to store, once `parse_webhook_url` accepts it (as written, without surrounding space)."""
    parse_webhook_url(url, allow_loopback)
    return url.strip()


def check_resolved(host: str, addresses: list[IPAddress], allow_loopback: bool) -> None:
    """Refuses a host name that resolves to any address that is not public (InvalidInput
    `webhook_url_not_public`). The message names neither the addresses nor their kind: what an
    internal name resolves to is not the org's business. A name that resolves to nothing passes here;
    every delivery resolves and checks it again."""
    if resolved_refusal(addresses, allow_loopback) is not None:
        raise InvalidInput(
            NOT_PUBLIC,
            f"The host {host} resolves to an address that is not on the public internet (private, "
            "loopback, link-local or otherwise reserved); webhooks are only delivered to public hosts",
        )


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


def status_reason(status_code: int) -> str | None:
    """What an attempt that got `status_code` says: nothing for 2xx; the status and its standard
    name otherwise (never the receiver's own reason phrase, body or headers)."""
    if 200 <= status_code < 300:
        return None
    if 300 <= status_code < 400:
        return f"HTTP {status_code}: redirect not followed"
    try:
        return f"HTTP {status_code} {HTTPStatus(status_code).phrase}"
    except ValueError:
        return f"HTTP {status_code}"


def shown_error(status_code: int | None, error: str | None) -> str | None:
    """The reason an attempt shows to the org, from the fixed list whatever was stored: attempts
    recorded by older versions kept exception texts and response snippets."""
    if error is None:
        return None
    if status_code is not None:
        return status_reason(status_code)
    if error in (NO_RESPONSE, NOT_SENT_NOT_PUBLIC, NOT_SENT_INVALID_URL):
        return error
    return NOT_SENT_INVALID_URL if error.startswith("not sent:") else NO_RESPONSE


def wants(webhook: Webhook, event_type: str) -> bool:
    """Whether the webhook is to receive an event of this type: it is enabled, the event is an org
    event, and the webhook subscribed to the type or to every org event."""
    if not webhook.enabled or event_type not in ORG_EVENT_TYPES:
        return False
    return ALL_ORG_EVENTS in webhook.event_types or event_type in webhook.event_types


def delivery_headers(event_id: str, event_type: str, signature: str) -> dict[str, str]:
    """The Plutomi headers of a delivery; the sender adds Content-Type and User-Agent."""
    return {EVENT_ID_HEADER: event_id, EVENT_TYPE_HEADER: event_type, SIGNATURE_HEADER: signature}
