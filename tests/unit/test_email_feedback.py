"""Reading SES feedback, the suppression rules, unsubscribe tokens and links, and the sending-health
thresholds. Pure domain: no services.

The notifications below are the examples of the SES developer guide (both forms), trimmed of headers
that change nothing here, so the parser is checked against what SES sends rather than against our own
simulator (whose output is checked too, at the end)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plutomi.domain.email_feedback import (
    BOUNCE_THRESHOLDS,
    COMPLAINT_THRESHOLDS,
    TRANSIENT_BOUNCE_LIMIT,
    TRANSIENT_BOUNCE_WINDOW,
    FeedbackKind,
    Ignored,
    MalformedFeedback,
    Notification,
    RateStatus,
    SendingHealth,
    Suppression,
    SuppressionReason,
    SuppressionScope,
    address_domain,
    address_ref,
    feedback_address,
    is_unsubscribe_token,
    parse_notification,
    parse_record_body,
    soft_bounces_suppress,
    transient_window,
    unsubscribe_token,
)
from plutomi.domain.emails import invite_email, login_code_email, with_unsubscribe
from plutomi.runtime.ses import EXIT_CODES, render_health
from plutomi.runtime.ses_feedback_local import SentMail, ses_notification

MAIL = {
    "timestamp": "2016-01-27T14:59:38.237Z",
    "source": "john@example.com",
    "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
    "sourceIp": "127.0.3.0",
    "sendingAccountId": "123456789012",
    "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
    "destination": ["jane@example.com", "mary@example.com", "richard@example.com"],
    "headersTruncated": False,
    "commonHeaders": {"from": ["John Doe <john@example.com>"], "subject": "Hello"},
}

# notificationType form: an identity's feedback notifications.
BOUNCE_NOTIFICATION: dict[str, Any] = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "reportingMTA": "dns; email.example.com",
        "bouncedRecipients": [
            {
                "emailAddress": "jane@example.com",
                "status": "5.1.1",
                "action": "failed",
                "diagnosticCode": "smtp; 550 5.1.1 <jane@example.com>... User",
            }
        ],
        "bounceSubType": "General",
        "timestamp": "2016-01-27T14:59:38.237Z",
        "feedbackId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
        "remoteMtaIp": "127.0.2.0",
    },
    "mail": MAIL,
}
COMPLAINT_NOTIFICATION: dict[str, Any] = {
    "notificationType": "Complaint",
    "complaint": {
        "userAgent": "AnyCompany Feedback Loop (V0.01)",
        "complainedRecipients": [{"emailAddress": "richard@example.com"}],
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2016-01-27T14:59:38.237Z",
        "timestamp": "2016-01-27T14:59:38.237Z",
        "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
    },
    "mail": MAIL,
}
DELIVERY_NOTIFICATION: dict[str, Any] = {
    "notificationType": "Delivery",
    "mail": MAIL,
    "delivery": {
        "timestamp": "2016-01-27T14:59:38.237Z",
        "recipients": ["jane@example.com"],
        "processingTimeMillis": 546,
        "reportingMTA": "a8-70.smtp-out.amazonses.com",
        "smtpResponse": "250 ok:  Message 64111812 accepted",
        "remoteMtaIp": "127.0.2.0",
    },
}

# eventType form: a configuration set's event publishing (what Plutomi's stack sets up).
EVENT_MAIL = {
    "timestamp": "2017-08-05T00:40:02.012Z",
    "source": "Sender Name <sender@example.com>",
    "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
    "sendingAccountId": "123456789012",
    "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
    "destination": ["recipient@example.com"],
    "headersTruncated": False,
    "tags": {"ses:configuration-set": ["ConfigSet"]},
}
BOUNCE_EVENT: dict[str, Any] = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "recipient@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA": "dsn; mta.example.com",
    },
    "mail": EVENT_MAIL,
}
COMPLAINT_EVENT: dict[str, Any] = {
    "eventType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": "recipient@example.com"}],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2017-08-05T00:41:02.669Z",
    },
    "mail": EVENT_MAIL,
}
DELIVERY_EVENT: dict[str, Any] = {
    "eventType": "Delivery",
    "mail": EVENT_MAIL,
    "delivery": {
        "timestamp": "2016-10-19T23:21:04.133Z",
        "processingTimeMillis": 11893,
        "recipients": ["recipient@example.com"],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "mta.example.com",
    },
}


def sns_wrapped(notification: dict[str, Any]) -> str:
    """What SNS puts in an SQS message for a subscription without raw delivery."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:plutomi-ses-feedback",
            "Message": json.dumps(notification),
            "Timestamp": "2017-08-05T00:41:02.900Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
    )


def parsed(body: str) -> Notification:
    result = parse_record_body(body)
    assert isinstance(result, Notification), result
    return result


def raw(notification: dict[str, Any]) -> str:
    """What SQS holds when the subscription uses raw message delivery: the notification itself."""
    return json.dumps(notification)


WRAPPINGS: dict[str, Callable[[dict[str, Any]], str]] = {"sns": sns_wrapped, "raw": raw}


# ------------------------------------------------------------------ both forms, wrapped or raw


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@pytest.mark.parametrize(
    "notification", [BOUNCE_NOTIFICATION, BOUNCE_EVENT], ids=["notificationType", "eventType"]
)
def test_a_permanent_bounce(notification: dict[str, Any], wrapping: str) -> None:
    result = parsed(WRAPPINGS[wrapping](notification))
    assert result.kind is FeedbackKind.PERMANENT_BOUNCE
    assert result.feedback_id == notification["bounce"]["feedbackId"]
    assert result.message_id == notification["mail"]["messageId"]
    assert result.recipients == (notification["bounce"]["bouncedRecipients"][0]["emailAddress"],)
    assert result.detail == "Permanent/General"
    assert result.occurred_at == datetime.fromisoformat(notification["bounce"]["timestamp"])
    assert result.occurred_at.tzinfo is not None
    assert result.form == next(iter(notification))


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@pytest.mark.parametrize(
    "notification", [COMPLAINT_NOTIFICATION, COMPLAINT_EVENT], ids=["notificationType", "eventType"]
)
def test_a_complaint(notification: dict[str, Any], wrapping: str) -> None:
    result = parsed(WRAPPINGS[wrapping](notification))
    assert result.kind is FeedbackKind.COMPLAINT
    assert result.feedback_id == notification["complaint"]["feedbackId"]
    assert result.recipients == (notification["complaint"]["complainedRecipients"][0]["emailAddress"],)
    assert result.detail == "abuse"


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@pytest.mark.parametrize(
    "notification", [DELIVERY_NOTIFICATION, DELIVERY_EVENT], ids=["notificationType", "eventType"]
)
def test_a_delivery_is_keyed_by_its_message_id(notification: dict[str, Any], wrapping: str) -> None:
    result = parsed(WRAPPINGS[wrapping](notification))
    assert result.kind is FeedbackKind.DELIVERY
    assert result.feedback_id == result.message_id == notification["mail"]["messageId"]
    assert result.recipients == tuple(notification["delivery"]["recipients"])
    assert result.occurred_at == datetime.fromisoformat(notification["delivery"]["timestamp"])


@pytest.mark.parametrize(
    ("bounce_type", "kind"),
    [
        ("Permanent", FeedbackKind.PERMANENT_BOUNCE),
        ("Transient", FeedbackKind.TRANSIENT_BOUNCE),
        ("Undetermined", FeedbackKind.UNDETERMINED_BOUNCE),
    ],
)
def test_bounce_types(bounce_type: str, kind: FeedbackKind) -> None:
    notification = copy.deepcopy(BOUNCE_EVENT)
    notification["bounce"]["bounceType"] = bounce_type
    notification["bounce"]["bounceSubType"] = "MailboxFull" if bounce_type == "Transient" else "General"
    result = parsed(sns_wrapped(notification))
    assert result.kind is kind
    assert result.detail.startswith(f"{bounce_type}/")


def test_every_recipient_counts_once_and_addresses_are_bare_and_lower_case() -> None:
    notification = copy.deepcopy(BOUNCE_NOTIFICATION)
    notification["bounce"]["bouncedRecipients"] = [
        {"emailAddress": "Jane Doe <Jane@Example.COM>"},
        {"emailAddress": "mary@example.com"},
        {"emailAddress": "jane@example.com"},
    ]
    assert parsed(json.dumps(notification)).recipients == ("jane@example.com", "mary@example.com")
    assert feedback_address('"Doe, Jane" <JANE@example.com>') == "jane@example.com"
    assert address_domain("jane@Example.com") == "example.com"


def test_a_time_without_zone_is_utc() -> None:
    notification = copy.deepcopy(BOUNCE_EVENT)
    notification["bounce"]["timestamp"] = "2017-08-05T00:41:02.669"
    assert parsed(json.dumps(notification)).occurred_at == datetime(2017, 8, 5, 0, 41, 2, 669000, tzinfo=UTC)


def test_the_sns_message_may_arrive_as_an_object() -> None:
    envelope = json.loads(sns_wrapped(BOUNCE_EVENT))
    envelope["Message"] = BOUNCE_EVENT
    assert parsed(json.dumps(envelope)).kind is FeedbackKind.PERMANENT_BOUNCE


# ------------------------------------------------------------------ acknowledged, not acted on


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(
            {"Type": "SubscriptionConfirmation", "Token": "x", "TopicArn": "arn", "Message": "confirm"}
        ),
        sns_wrapped({"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have subscribed"}),
        sns_wrapped({**EVENT_MAIL, "eventType": "Send", "send": {}}),
        sns_wrapped({"eventType": "Reject", "mail": EVENT_MAIL, "reject": {"reason": "Bad content"}}),
        sns_wrapped({"eventType": "DeliveryDelay", "mail": EVENT_MAIL, "deliveryDelay": {}}),
        json.dumps({"eventType": "Open", "mail": EVENT_MAIL, "open": {}}),
    ],
    ids=["sns-confirmation", "ses-subscription-succeeded", "send", "reject", "delivery-delay", "open"],
)
def test_other_well_formed_messages_are_ignored(body: str) -> None:
    assert isinstance(parse_record_body(body), Ignored)


# AWS's example of the event a configuration set publishes when a template fails to render, as the
# SES developer guide shows it ("Examples of event data that Amazon SES publishes to Amazon SNS").
RENDERING_FAILURE_EVENT: dict[str, Any] = {
    "eventType": "Rendering Failure",
    "mail": {**EVENT_MAIL, "timestamp": "2018-01-22T18:43:06.197Z", "source": "sender@example.com"},
    "failure": {
        "errorMessage": "Attribute 'attributeName' is not present in the rendering data.",
        "templateName": "MyTemplate",
    },
}


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@pytest.mark.parametrize("spelling", ["Rendering Failure", "RenderingFailure"])
def test_a_rendering_failure_is_recognised_and_ignored(wrapping: str, spelling: str) -> None:
    result = parse_record_body(WRAPPINGS[wrapping]({**RENDERING_FAILURE_EVENT, "eventType": spelling}))
    assert result == Ignored(f"eventType {spelling}")


# ------------------------------------------------------------------ malformed


def _without(notification: dict[str, Any], section: str, key: str) -> dict[str, Any]:
    changed = copy.deepcopy(notification)
    del changed[section][key]
    return changed


def _with(notification: dict[str, Any], section: str, key: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(notification)
    changed[section][key] = value
    return changed


MALFORMED: dict[str, str] = {
    "not-json": "{not json",
    "json-array": "[1, 2]",
    "empty-object": "{}",
    "sns-message-not-json": json.dumps({"Type": "Notification", "Message": "jane@example.com bounced"}),
    "sns-message-missing": json.dumps({"Type": "Notification", "TopicArn": "arn"}),
    "sns-message-a-number": json.dumps({"Type": "Notification", "Message": 42}),
    "sns-unknown-type": json.dumps({"Type": "Surprise", "Message": "{}"}),
    "unknown-event-type": sns_wrapped({"eventType": "Teleport", "mail": EVENT_MAIL}),
    "event-type-not-a-string": sns_wrapped({"eventType": 7, "mail": EVENT_MAIL}),
    "bounce-object-missing": sns_wrapped({"eventType": "Bounce", "mail": EVENT_MAIL}),
    "bounce-type-unknown": sns_wrapped(_with(BOUNCE_EVENT, "bounce", "bounceType", "Soft")),
    "bounce-without-feedback-id": sns_wrapped(_without(BOUNCE_EVENT, "bounce", "feedbackId")),
    "bounce-without-recipients": sns_wrapped(_with(BOUNCE_EVENT, "bounce", "bouncedRecipients", [])),
    "bounce-recipient-not-an-address": sns_wrapped(
        _with(BOUNCE_EVENT, "bounce", "bouncedRecipients", [{"emailAddress": "not an address"}])
    ),
    "bounce-recipient-without-address": sns_wrapped(
        _with(BOUNCE_EVENT, "bounce", "bouncedRecipients", [{"status": "5.1.1"}])
    ),
    "bounce-bad-timestamp": sns_wrapped(_with(BOUNCE_EVENT, "bounce", "timestamp", "yesterday")),
    "complaint-without-recipients": sns_wrapped(
        _without(COMPLAINT_EVENT, "complaint", "complainedRecipients")
    ),
    "complaint-without-feedback-id": sns_wrapped(_with(COMPLAINT_EVENT, "complaint", "feedbackId", " ")),
    "delivery-without-message-id": sns_wrapped({**DELIVERY_EVENT, "mail": {"timestamp": "x"}}),
    "delivery-recipients-not-strings": sns_wrapped(_with(DELIVERY_EVENT, "delivery", "recipients", [{}])),
    "delivery-without-timestamp": sns_wrapped(_without(DELIVERY_EVENT, "delivery", "timestamp")),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_records_are_refused_without_quoting_addresses(body: str) -> None:
    with pytest.raises(MalformedFeedback) as raised:
        parse_record_body(body)
    assert "@" not in str(raised.value), "the error must not quote an address"


def test_a_notification_must_say_what_it_is() -> None:
    with pytest.raises(MalformedFeedback, match="neither eventType nor notificationType"):
        parse_notification({"mail": EVENT_MAIL})


# ------------------------------------------------------------------ the rules


def test_soft_bounces_suppress_from_the_limit_within_the_window() -> None:
    assert TRANSIENT_BOUNCE_LIMIT == 3
    assert timedelta(days=7) == TRANSIENT_BOUNCE_WINDOW
    assert not soft_bounces_suppress(TRANSIENT_BOUNCE_LIMIT - 1)
    assert soft_bounces_suppress(TRANSIENT_BOUNCE_LIMIT)
    at = datetime(2026, 1, 10, tzinfo=UTC)
    assert transient_window(at) == (at - timedelta(days=7), at)


def test_what_a_suppression_blocks() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def suppression(scope: SuppressionScope, reason: SuppressionReason) -> Suppression:
        return Suppression(
            id="sup_1", email="a@example.com", scope=scope, reason=reason, created_at=now, updated_at=now
        )

    bounced = suppression(SuppressionScope.ALL, SuppressionReason.BOUNCE)
    unsubscribed = suppression(SuppressionScope.NON_ESSENTIAL, SuppressionReason.UNSUBSCRIBED)
    assert bounced.blocks(essential=True) and bounced.blocks(essential=False)
    assert unsubscribed.blocks(essential=False) and not unsubscribed.blocks(essential=True)


# ------------------------------------------------------------------ unsubscribe tokens and links


def test_unsubscribe_tokens_are_keyed_stable_and_do_not_show_the_address() -> None:
    token = unsubscribe_token("secret", "Jane@Example.com")
    assert is_unsubscribe_token(token) and len(token) == 32
    assert token == unsubscribe_token("secret", "jane@example.com ")
    assert token != unsubscribe_token("other-secret", "jane@example.com")
    assert token != unsubscribe_token("secret", "john@example.com")
    assert "jane" not in token
    for bad in ("", token.upper(), token[:-1], token + "0", "g" * 32, f"{token[:31]}/", "ses_x"):
        assert not is_unsubscribe_token(bad), bad


def test_address_refs_are_pseudonyms() -> None:
    ref = address_ref("secret", "jane@example.com")
    assert ref == address_ref("secret", "JANE@example.com") and len(ref) == 16
    assert ref != address_ref("other", "jane@example.com") and "jane" not in ref


def test_every_email_gets_an_unsubscribe_link_and_one_click_headers() -> None:
    url = "https://plutomi.example/unsubscribe/" + "a" * 32
    invite = invite_email(
        "bob@example.com", "Acme", "ada@example.com", "admin", "https://plutomi.example/invites"
    )
    linked = with_unsubscribe(invite, url)
    assert linked.headers["List-Unsubscribe"] == f"<{url}>"
    assert linked.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in linked.text and f'href="{url}"' in linked.html
    assert linked.html.endswith("</body></html>") and linked.html.count("<body") == 1
    assert linked.text.startswith(invite.text.rstrip()) and linked.subject == invite.subject
    assert not linked.essential

    code = with_unsubscribe(login_code_email("bob@example.com", "ABC234", 5), url)
    assert code.essential and url in code.text and "ABC234" in code.text
    assert invite.headers == {}, "the original email is not changed"


# ------------------------------------------------------------------ sending health


def health(**counts: int) -> SendingHealth:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    return SendingHealth(since, since + timedelta(days=7), {FeedbackKind(k): v for k, v in counts.items()})


def test_rates_count_hard_bounces_over_every_outcome() -> None:
    figures = health(
        delivery=940, bounce_permanent=30, bounce_transient=20, bounce_undetermined=10, complaint=1
    )
    assert figures.sends == 1000
    assert figures.bounce_rate.value == pytest.approx(0.03)  # transient bounces do not count
    assert figures.complaint_rate.value == pytest.approx(0.001)
    assert figures.bounce_rate.status is RateStatus.WARNING
    assert figures.complaint_rate.status is RateStatus.REVIEW
    assert figures.status is RateStatus.REVIEW


@pytest.mark.parametrize(
    ("bounces", "status"),
    [
        (0, RateStatus.OK),
        (24, RateStatus.OK),
        (25, RateStatus.WARNING),
        (50, RateStatus.REVIEW),
        (100, RateStatus.PAUSE),
    ],
)
def test_bounce_thresholds(bounces: int, status: RateStatus) -> None:
    assert health(delivery=1000 - bounces, bounce_permanent=bounces).bounce_rate.status is status


@pytest.mark.parametrize(
    ("complaints", "status"),
    [(4, RateStatus.OK), (5, RateStatus.WARNING), (10, RateStatus.REVIEW), (50, RateStatus.PAUSE)],
)
def test_complaint_thresholds(complaints: int, status: RateStatus) -> None:
    assert health(delivery=10_000, complaint=complaints).complaint_rate.status is status


def test_thresholds_are_ses_review_and_pause_levels_with_an_earlier_warning() -> None:
    assert (BOUNCE_THRESHOLDS.review, BOUNCE_THRESHOLDS.pause) == (0.05, 0.10)
    assert (COMPLAINT_THRESHOLDS.review, COMPLAINT_THRESHOLDS.pause) == (0.001, 0.005)
    assert BOUNCE_THRESHOLDS.warning < BOUNCE_THRESHOLDS.review
    assert COMPLAINT_THRESHOLDS.warning < COMPLAINT_THRESHOLDS.review


def test_no_sends_is_no_rate_and_no_alarm() -> None:
    empty = health()
    assert empty.sends == 0 and empty.bounce_rate.value is None and empty.status is RateStatus.OK
    lines = render_health(empty, 7)
    assert "no SES feedback recorded in this window" in lines
    assert any(line.startswith("bounce rate") and "n/a" in line for line in lines)


def test_the_stats_report_and_its_exit_codes() -> None:
    healthy = render_health(health(delivery=999, bounce_permanent=1), 7)
    assert healthy[0].startswith("SES sending health, last 7 days (2026-01-01 00:00 to 2026-01-08 00:00 UTC)")
    assert "(1 permanent bounce)" in healthy[2] and healthy[2].endswith(": OK")
    assert healthy[-1] == "ok: both rates are below their warning thresholds"
    assert EXIT_CODES == {
        RateStatus.OK: 0,
        RateStatus.WARNING: 1,
        RateStatus.REVIEW: 2,
        RateStatus.PAUSE: 2,
    }


# ------------------------------------------------------------------ the local simulator speaks SES


@pytest.mark.parametrize("kind", ["bounce", "complaint", "delivery"])
def test_simulated_notifications_parse_like_real_ones(kind: str) -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    mail = SentMail("0100abc-000000", "Plutomi <no-reply@plutomi.localhost>", "Subject")
    notification = ses_notification(kind, "Jane@Example.com", at=at, mail=mail, feedback_id="fb-1")  # type: ignore[arg-type]
    assert set(notification) == {"eventType", "mail", kind}
    result = parsed(sns_wrapped(notification))
    assert result.form == "eventType" and result.occurred_at == at
    assert result.recipients == ("jane@example.com",) and result.message_id == "0100abc-000000"
    expected = {"bounce": FeedbackKind.PERMANENT_BOUNCE, "complaint": FeedbackKind.COMPLAINT}
    assert result.kind is expected.get(kind, FeedbackKind.DELIVERY)
    assert result.feedback_id == ("0100abc-000000" if kind == "delivery" else "fb-1")
