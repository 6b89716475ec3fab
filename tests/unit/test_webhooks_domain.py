"""Unit tests for plutomi.domain.webhooks: signatures, URL and event-type rules, outcomes, interest."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from plutomi.domain import events
from plutomi.domain.errors import InvalidInput
from plutomi.domain.webhooks import (
    ALL_ORG_EVENTS,
    DELIVERED,
    FAILED_PERMANENT,
    FAILED_WILL_RETRY,
    NO_RESPONSE,
    NOT_SENT_INVALID_URL,
    NOT_SENT_NOT_PUBLIC,
    ORG_EVENT_TYPES,
    Webhook,
    classify,
    delivery_headers,
    shown_error,
    sign,
    status_reason,
    validate_event_types,
    validate_webhook_url,
    verify_signature,
    wants,
)

SECRET = "whsec_test-secret"
BODY = b'{"id":"evt_1","type":"org.updated","data":{"display_name":"Acme \xc3\xa9"}}'
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


# ---------------------------------------------------------------- signatures


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"t={T},v1={expected}"
    assert sign(SECRET, T, BODY.decode()) == sign(SECRET, T, BODY)  # text is signed as its UTF-8 bytes


def test_a_fresh_signature_verifies() -> None:
    header = sign(SECRET, T, BODY)
    assert verify_signature(SECRET, header, BODY, NOW)
    assert verify_signature(SECRET, header, BODY, NOW.timestamp())
    assert verify_signature(SECRET, header, BODY.decode(), NOW + timedelta(seconds=299))


def test_a_tampered_body_fails() -> None:
    header = sign(SECRET, T, BODY)
    assert not verify_signature(SECRET, header, BODY.replace(b"Acme", b"Evil"), NOW)
    assert not verify_signature(SECRET, header, BODY + b" ", NOW)
    assert not verify_signature(SECRET, header, b"", NOW)


def test_a_wrong_secret_fails() -> None:
    header = sign(SECRET, T, BODY)
    assert not verify_signature("whsec_other", header, BODY, NOW)
    assert not verify_signature(SECRET + "x", header, BODY, NOW)


def test_a_changed_timestamp_fails() -> None:
    """The timestamp is signed: moving it forward to look fresh breaks the signature."""
    digest = sign(SECRET, T, BODY).split("v1=")[1]
    assert not verify_signature(SECRET, f"t={T + 600},v1={digest}", BODY, NOW + timedelta(seconds=600))


@pytest.mark.parametrize("offset", [301, 3600, -301, -86400])
def test_a_stale_or_future_timestamp_fails(offset: int) -> None:
    header = sign(SECRET, T, BODY)
    assert not verify_signature(SECRET, header, BODY, NOW + timedelta(seconds=offset))
    assert verify_signature(SECRET, header, BODY, NOW + timedelta(seconds=offset), tolerance_seconds=86400)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"t={T}",
        "v1=abc",
        f"t=abc,v1={'0' * 64}",
        f"t={T},v1=",
        f"t=-{T},v1={'0' * 64}",
        f"t=²,v1={'0' * 64}",
        f"v0={'0' * 64},t={T}",
    ],
)
def test_malformed_headers_are_rejected_not_errors(header: str) -> None:
    assert not verify_signature(SECRET, header, BODY, NOW)


def test_any_of_several_v1_values_may_match_and_order_does_not_matter() -> None:
    digest = sign(SECRET, T, BODY).split("v1=")[1]
    assert verify_signature(SECRET, f"v1={'0' * 64}, t={T}, v1={digest}", BODY, NOW)
    assert not verify_signature(SECRET, f"t={T},v1={'0' * 64},v1={'f' * 64}", BODY, NOW)


def test_delivery_headers() -> None:
    assert delivery_headers("evt_1", "org.updated", "t=1,v1=ab") == {
        "Plutomi-Event-Id": "evt_1",
        "Plutomi-Event-Type": "org.updated",
        "Plutomi-Signature": "t=1,v1=ab",
    }


# ---------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks",
        "https://hooks.example.com:8443/plutomi?team=1",
        "HTTPS://Example.com/Path",
        "https://[2606:4700:4700::1111]/hook",
        "https://8.8.8.8/hook",
    ],
)
def test_https_urls_to_public_hosts_are_allowed_everywhere(url: str) -> None:
    assert validate_webhook_url(url, allow_loopback=False) == url
    assert validate_webhook_url(f"  {url} ", allow_loopback=True) == url


@pytest.mark.parametrize("url", ["https://localhost/hook", "https://127.0.0.1:8443/", "https://[::1]/"])
def test_https_to_this_machine_only_in_development(url: str) -> None:
    """tests/unit/test_webhook_addresses.py has every spelling and every internal range."""
    assert validate_webhook_url(url, allow_loopback=True) == url
    with pytest.raises(InvalidInput) as raised:
        validate_webhook_url(url, allow_loopback=False)
    assert raised.value.code == "webhook_url_not_public"


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/hook", "http://127.0.0.1:9/x", "http://[::1]:8080/", "http://LOCALHOST/"]
)
def test_local_http_only_when_allowed(url: str) -> None:
    assert validate_webhook_url(url, allow_loopback=True) == url
    with pytest.raises(InvalidInput) as raised:
        validate_webhook_url(url, allow_loopback=False)
    assert raised.value.code == "invalid_webhook_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "http://10.0.0.1/hook",
        "http://127.0.0.2/hook",
        "http://localhost.example.com/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.com/hook",
        "https://",
        "https:///path",
        "https://user:pass@example.com/hook",
        "https://token@example.com/hook",
        "https://example.com:99999/hook",
        "https://example.com:port/hook",
        "https://exa mple.com/hook",
        "https://example.com/a\nb",
        "",
        "   ",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_bad_urls_are_refused_with_a_clear_code(url: str) -> None:
    for allow_loopback in (True, False):
        with pytest.raises(InvalidInput) as raised:
            validate_webhook_url(url, allow_loopback=allow_loopback)
        assert raised.value.code == "invalid_webhook_url"
        assert raised.value.message


# ---------------------------------------------------------------- event types


def test_event_types_are_checked_and_deduplicated() -> None:
    assert validate_event_types(["org.updated", " applicant.moved ", "org.updated"]) == [
        "org.updated",
        "applicant.moved",
    ]
    assert validate_event_types([ALL_ORG_EVENTS]) == ["*"]
    assert validate_event_types([events.WEBHOOK_CREATED]) == ["webhook.created"]


@pytest.mark.parametrize(
    "event_types",
    [
        [],
        ["org.exploded"],
        ["org.*"],
        ["events.>"],
        ["totp.requested"],
        ["user.created"],
        ["org.updated", ""],
    ],
)
def test_unknown_or_personal_event_types_are_refused(event_types: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_event_types(event_types)
    assert raised.value.code == "invalid_event_type"


def test_org_event_types_exclude_personal_ones() -> None:
    assert events.TOTP_REQUESTED not in ORG_EVENT_TYPES
    assert events.USER_CREATED not in ORG_EVENT_TYPES
    assert {events.ORG_UPDATED, events.APPLICANT_MOVED, events.WEBHOOK_DELETED} <= ORG_EVENT_TYPES


# ---------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, DELIVERED),
        (201, DELIVERED),
        (204, DELIVERED),
        (299, DELIVERED),
        (400, FAILED_PERMANENT),
        (401, FAILED_PERMANENT),
        (403, FAILED_PERMANENT),
        (404, FAILED_PERMANENT),
        (410, FAILED_PERMANENT),
        (422, FAILED_PERMANENT),
        (499, FAILED_PERMANENT),
        (408, FAILED_WILL_RETRY),
        (429, FAILED_WILL_RETRY),
        (500, FAILED_WILL_RETRY),
        (502, FAILED_WILL_RETRY),
        (503, FAILED_WILL_RETRY),
        (None, FAILED_WILL_RETRY),
        (301, FAILED_WILL_RETRY),
        (302, FAILED_WILL_RETRY),
        (307, FAILED_WILL_RETRY),
        (100, FAILED_WILL_RETRY),
    ],
)
def test_classify(status: int | None, outcome: str) -> None:
    assert classify(status) == outcome


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (200, None),
        (204, None),
        (301, "HTTP 301: redirect not followed"),
        (302, "HTTP 302: redirect not followed"),
        (308, "HTTP 308: redirect not followed"),
        (404, "HTTP 404 Not Found"),
        (429, "HTTP 429 Too Many Requests"),
        (500, "HTTP 500 Internal Server Error"),
        (599, "HTTP 599"),
    ],
)
def test_a_status_reads_as_the_status_and_its_standard_name(status: int, reason: str | None) -> None:
    assert status_reason(status) == reason


@pytest.mark.parametrize(
    ("status", "stored", "shown"),
    [
        (200, None, None),
        (None, NO_RESPONSE, NO_RESPONSE),
        (None, NOT_SENT_NOT_PUBLIC, NOT_SENT_NOT_PUBLIC),
        (None, NOT_SENT_INVALID_URL, NOT_SENT_INVALID_URL),
        (500, "HTTP 500 Internal Server Error", "HTTP 500 Internal Server Error"),
        # What older versions stored: exception texts, bodies, Location headers.
        (None, "URLError: [Errno 111] Connection refused", NO_RESPONSE),
        (None, "URLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", NO_RESPONSE),
        (None, "RemoteDisconnected: Remote end closed connection without response", NO_RESPONSE),
        (None, "TimeoutError: timed out", NO_RESPONSE),
        (None, "not sent: Use an https:// URL", NOT_SENT_INVALID_URL),
        (
            500,
            "HTTP 500: db-7.internal:5432 refused the password for plutomi",
            "HTTP 500 Internal Server Error",
        ),
        (
            302,
            "HTTP 302: redirects are not followed (to http://10.0.0.5/admin)",
            "HTTP 302: redirect not followed",
        ),
        (404, "HTTP 404: <html>nginx/1.18 on ip-10-0-0-5</html>", "HTTP 404 Not Found"),
    ],
)
def test_the_shown_error_is_one_of_a_few_fixed_reasons(
    status: int | None, stored: str | None, shown: str
) -> None:
    assert shown_error(status, stored) == shown


# ---------------------------------------------------------------- interest


def webhook(event_types: list[str], enabled: bool = True) -> Webhook:
    return Webhook(
        id="whk_1",
        org_id="acme",
        url="https://example.com/hook",
        event_types=event_types,
        secret=SECRET,
        enabled=enabled,
        created_by="usr_1",
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_webhook_wants_the_types_it_named() -> None:
    hook = webhook(["org.updated", "applicant.moved"])
    assert wants(hook, "org.updated") and wants(hook, "applicant.moved")
    assert not wants(hook, "org.deleted")
    assert not wants(hook, "webhook.created")


def test_star_wants_every_org_event_and_no_personal_one() -> None:
    hook = webhook(["*"])
    assert all(wants(hook, event_type) for event_type in ORG_EVENT_TYPES)
    assert wants(hook, "webhook.created")
    for personal in (events.TOTP_REQUESTED, events.USER_CREATED, events.USER_UPDATED):
        assert not wants(hook, personal)
    assert not wants(webhook(["totp.requested"]), "totp.requested")  # even if stored somehow


def test_a_disabled_webhook_wants_nothing() -> None:
    assert not wants(webhook(["*"], enabled=False), "org.updated")
    assert not wants(webhook(["org.updated"], enabled=False), "org.updated")
