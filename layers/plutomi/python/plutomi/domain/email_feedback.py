"""SES feedback: what a bounce, complaint or delivery notification says, and the rules Plutomi applies.

Pure: parsing, the suppression rules, unsubscribe tokens and the sending-health thresholds. No I/O and
no clock reads.

A record reaches `consumers.ses_feedback` from SQS. Its body is the SNS envelope
(`{"Type": "Notification", "Message": "<the SES notification as a JSON string>", ...}`), or, when the
subscription uses raw message delivery, the SES notification itself. SES writes notifications in two
forms: `notificationType` (an identity's feedback notifications) and `eventType` (a configuration
set's event publishing, what Plutomi's stack sets up). Both carry the same `bounce`, `complaint` and
`delivery` objects and the same `mail` object.

The rules:
- a permanent bounce or a complaint suppresses each recipient: nothing is ever sent to it again;
- transient and undetermined bounces are counted; TRANSIENT_BOUNCE_LIMIT of them within
  TRANSIENT_BOUNCE_WINDOW (counted back from each bounce's own time) suppress too. An address that
  keeps bouncing softly for a week is as bad for the sender's reputation as one that does not exist,
  and a mailbox that is full for a day stays reachable;
- deliveries are only recorded (the denominator of the sending-health rates);
- unsubscribing suppresses only email the person did not ask for (see `OutgoingEmail.essential`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

from plutomi.domain.identity import hash_secret
from plutomi.domain.models import Item


class FeedbackKind(StrEnum):
    PERMANENT_BOUNCE = "bounce_permanent"
    TRANSIENT_BOUNCE = "bounce_transient"
    UNDETERMINED_BOUNCE = "bounce_undetermined"
    COMPLAINT = "complaint"
    DELIVERY = "delivery"


BOUNCE_KINDS = frozenset(
    {FeedbackKind.PERMANENT_BOUNCE, FeedbackKind.TRANSIENT_BOUNCE, FeedbackKind.UNDETERMINED_BOUNCE}
)
# SES could not tell why (Undetermined): treated like a transient bounce, counted, not suppressed at once.
SOFT_BOUNCE_KINDS = frozenset({FeedbackKind.TRANSIENT_BOUNCE, FeedbackKind.UNDETERMINED_BOUNCE})
TRANSIENT_BOUNCE_LIMIT = 3
TRANSIENT_BOUNCE_WINDOW = timedelta(days=7)


class SuppressionScope(StrEnum):
    ALL = "all"  # bounced or complained: nothing is sent, not even a login code
    NON_ESSENTIAL = "non_essential"  # unsubscribed: only email the person asks for


class SuppressionReason(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    REPEATED_TRANSIENT_BOUNCES = "repeated_transient_bounces"
    UNSUBSCRIBED = "unsubscribed"


SUPPRESSING_KINDS: Mapping[FeedbackKind, SuppressionReason] = {
    FeedbackKind.PERMANENT_BOUNCE: SuppressionReason.BOUNCE,
    FeedbackKind.COMPLAINT: SuppressionReason.COMPLAINT,
}


class Suppression(Item):
    """An address on the suppression list, for one scope. Written once, never changed."""

    TYPE = "suppression"
    email: str
    scope: SuppressionScope
    reason: SuppressionReason
    feedback_id: str | None = None  # the SES notification that caused it (None: an unsubscribe)
    detail: str = ""  # e.g. "Permanent/General", "abuse"

    def blocks(self, essential: bool) -> bool:
        return self.scope is SuppressionScope.ALL or not essential


class FeedbackRecord(Item):
    """One recipient of one SES notification. Unique per (kind, feedback id, address), so a notification
    delivered twice is recorded once."""

    TYPE = "email_feedback"
    email: str
    feedback_kind: FeedbackKind
    feedback_id: str  # SES's feedbackId; for a delivery, which has none, the message id
    message_id: str | None = None  # the SES message id of the email it is about
    detail: str = ""
    occurred_at: datetime


class MalformedFeedback(ValueError):
    """The record is not an SES notification Plutomi can read. The message names fields, never values
    (a notification is full of email addresses)."""


@dataclass(frozen=True)
class Notification:
    kind: FeedbackKind
    feedback_id: str
    message_id: str | None
    recipients: tuple[str, ...]  # bare, lower-case addresses
    occurred_at: datetime
    detail: str
    form: str  # "eventType" or "notificationType"


@dataclass(frozen=True)
class Ignored:
    """A well-formed message that needs nothing done (SNS subscription messages, opens, rejects...)."""

    reason: str


# Event types a configuration set can publish, and the notification SES sends to a topic once it is
# set up for an identity's feedback. Acknowledged and ignored; anything else is malformed. A template
# rendering failure is spelt "Rendering Failure" in AWS's own examples of published events, and
# "RenderingFailure" in the event type names of the API: both.
IGNORED_TYPES = frozenset(
    {
        "Send",
        "Reject",
        "Open",
        "Click",
        "DeliveryDelay",
        "Rendering Failure",
        "RenderingFailure",
        "Subscription",
        "AmazonSnsSubscriptionSucceeded",
    }
)
IGNORED_SNS_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
_BARE_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def parse_record_body(body: str) -> Notification | Ignored:
    """An SQS record's body: an SNS envelope holding an SES notification, or the notification itself."""
    document = _json_object(body, "the record body")
    if "Type" in document:  # an SNS envelope; an SES notification has no `Type`
        sns_type = document["Type"]
        if sns_type in IGNORED_SNS_TYPES:
            return Ignored(f"SNS {sns_type}")
        if sns_type != "Notification":
            raise MalformedFeedback("an SNS envelope whose Type is not Notification")
        message = document.get("Message")
        if isinstance(message, dict):
            return parse_notification(message)
        if not isinstance(message, str):
            raise MalformedFeedback("an SNS envelope without a Message string")
        return parse_notification(_json_object(message, "the SNS Message"))
    return parse_notification(document)


def parse_notification(document: Mapping[str, Any]) -> Notification | Ignored:
    """An SES notification in either form."""
    form = next((key for key in ("eventType", "notificationType") if key in document), None)
    if form is None:
        raise MalformedFeedback("neither eventType nor notificationType")
    kind = document[form]
    if not isinstance(kind, str):
        raise MalformedFeedback(f"{form} is not a string")
    if kind == "Bounce":
        return _bounce(document, form)
    if kind == "Complaint":
        return _complaint(document, form)
    if kind == "Delivery":
        return _delivery(document, form)
    if kind in IGNORED_TYPES:
        return Ignored(f"{form} {kind}")
    raise MalformedFeedback(f"unknown {form} {kind[:40]!r}")


_BOUNCE_TYPES = {
    "Permanent": FeedbackKind.PERMANENT_BOUNCE,
    "Transient": FeedbackKind.TRANSIENT_BOUNCE,
    "Undetermined": FeedbackKind.UNDETERMINED_BOUNCE,
}


def _bounce(document: Mapping[str, Any], form: str) -> Notification:
    bounce = _object(document, "bounce")
    bounce_type = _text(bounce, "bounce.bounceType")
    if bounce_type not in _BOUNCE_TYPES:
        raise MalformedFeedback("bounce.bounceType is not Permanent, Transient or Undetermined")
    subtype = bounce.get("bounceSubType")
    return Notification(
        kind=_BOUNCE_TYPES[bounce_type],
        feedback_id=_text(bounce, "bounce.feedbackId"),
        message_id=_message_id(document),
        recipients=_recipients(bounce, "bounce.bouncedRecipients"),
        occurred_at=_timestamp(bounce, "bounce.timestamp"),
        detail=f"{bounce_type}/{subtype}" if isinstance(subtype, str) and subtype else bounce_type,
        form=form,
    )


def _complaint(document: Mapping[str, Any], form: str) -> Notification:
    complaint = _object(document, "complaint")
    details = [complaint.get(key) for key in ("complaintFeedbackType", "complaintSubType")]
    return Notification(
        kind=FeedbackKind.COMPLAINT,
        feedback_id=_text(complaint, "complaint.feedbackId"),
        message_id=_message_id(document),
        recipients=_recipients(complaint, "complaint.complainedRecipients"),
        occurred_at=_timestamp(complaint, "complaint.timestamp"),
        detail="/".join(d for d in details if isinstance(d, str) and d),
        form=form,
    )


def _delivery(document: Mapping[str, Any], form: str) -> Notification:
    delivery = _object(document, "delivery")
    message_id = _message_id(document)
    if message_id is None:
        raise MalformedFeedback("a delivery without mail.messageId")
    raw = delivery.get("recipients")
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        raise MalformedFeedback("delivery.recipients is not a non-empty list of addresses")
    return Notification(
        kind=FeedbackKind.DELIVERY,
        feedback_id=message_id,  # a delivery has no feedbackId; one per message and recipient
        message_id=message_id,
        recipients=_unique(feedback_address(r) for r in raw),
        occurred_at=_timestamp(delivery, "delivery.timestamp"),
        detail=str(delivery.get("smtpResponse") or "")[:200],
        form=form,
    )


def feedback_address(raw: str) -> str:
    """The bare, lower-case address in `raw` (SES may write `"Name" <address>`)."""
    _, address = parseaddr(raw)
    address = address.strip().lower()
    if not _BARE_ADDRESS.fullmatch(address):
        raise MalformedFeedback("a recipient is not an email address")
    return address


def address_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise MalformedFeedback(f"{what} is not JSON") from error
    if not isinstance(value, dict):
        raise MalformedFeedback(f"{what} is not a JSON object")
    return value


def _object(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise MalformedFeedback(f"no {key} object")
    return value


def _text(document: Mapping[str, Any], path: str) -> str:
    value = document.get(path.rsplit(".", 1)[-1])
    if not isinstance(value, str) or not value.strip():
        raise MalformedFeedback(f"{path} is missing or empty")
    return value.strip()


def _timestamp(document: Mapping[str, Any], path: str) -> datetime:
    text = _text(document, path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise MalformedFeedback(f"{path} is not an ISO 8601 time") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _message_id(document: Mapping[str, Any]) -> str | None:
    mail = document.get("mail")
    message_id = mail.get("messageId") if isinstance(mail, dict) else None
    return message_id.strip() if isinstance(message_id, str) and message_id.strip() else None


def _recipients(document: Mapping[str, Any], path: str) -> tuple[str, ...]:
    raw = document.get(path.rsplit(".", 1)[-1])
    if not isinstance(raw, list) or not raw:
        raise MalformedFeedback(f"{path} is missing or empty")
    addresses = []
    for recipient in raw:
        address = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        if not isinstance(address, str):
            raise MalformedFeedback(f"an entry of {path} has no emailAddress")
        addresses.append(feedback_address(address))
    return _unique(addresses)


def _unique(addresses: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addresses))


# ---------------------------------------------------------------------- the suppression rules


def transient_window(occurred_at: datetime) -> tuple[datetime, datetime]:
    """The soft bounces that count with one at `occurred_at`: those in (occurred_at - window, occurred_at]."""
    return occurred_at - TRANSIENT_BOUNCE_WINDOW, occurred_at


def soft_bounces_suppress(count_in_window: int) -> bool:
    return count_in_window >= TRANSIENT_BOUNCE_LIMIT


# ---------------------------------------------------------------------- unsubscribe links and log refs

UNSUBSCRIBE_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def unsubscribe_token(secret: str, email: str) -> str:
    """The token in an address's unsubscribe link: 128 bits of an HMAC of the address under the session
    secret, so nobody can make one for another address, and the link does not show the address."""
    return hash_secret(secret, "unsubscribe", email.strip().lower())[:32]


def is_unsubscribe_token(token: str) -> bool:
    return bool(UNSUBSCRIBE_TOKEN.fullmatch(token))


def address_ref(secret: str, email: str) -> str:
    """A stable pseudonym of an address for logs: the same address gives the same ref, and nobody
    without the secret can tell whose it is (a plain hash of a known address could be looked up)."""
    return hash_secret(secret, "address-ref", email.strip().lower())[:16]


# ---------------------------------------------------------------------- sending health


class RateStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"  # approaching the review threshold
    REVIEW = "review"  # SES puts the account under review
    PAUSE = "pause"  # SES may pause sending


@dataclass(frozen=True)
class Thresholds:
    warning: float
    review: float
    pause: float

    def status(self, rate: float | None) -> RateStatus:
        if rate is None:
            return RateStatus.OK
        if rate >= self.pause:
            return RateStatus.PAUSE
        if rate >= self.review:
            return RateStatus.REVIEW
        if rate >= self.warning:
            return RateStatus.WARNING
        return RateStatus.OK


# SES reviews an account at a 5% bounce rate and may pause it at 10%; 0.1% and 0.5% for complaints.
# We warn at half the review threshold, so there is time to act.
BOUNCE_THRESHOLDS = Thresholds(warning=0.025, review=0.05, pause=0.10)
COMPLAINT_THRESHOLDS = Thresholds(warning=0.0005, review=0.001, pause=0.005)
_SEVERITY = [RateStatus.OK, RateStatus.WARNING, RateStatus.REVIEW, RateStatus.PAUSE]


@dataclass(frozen=True)
class Rate:
    name: str
    count: int
    sends: int
    thresholds: Thresholds

    @property
    def value(self) -> float | None:
        return self.count / self.sends if self.sends else None

    @property
    def status(self) -> RateStatus:
        return self.thresholds.status(self.value)


@dataclass(frozen=True)
class SendingHealth:
    """Bounce and complaint rates as SES computes them: the bounce rate counts hard (permanent) bounces
    only; both rates are over the emails that reached an outcome (delivered or bounced) in the window."""

    since: datetime
    until: datetime
    counts: Mapping[FeedbackKind, int]

    @property
    def sends(self) -> int:
        return self.counts.get(FeedbackKind.DELIVERY, 0) + sum(self.counts.get(k, 0) for k in BOUNCE_KINDS)

    @property
    def bounce_rate(self) -> Rate:
        hard = self.counts.get(FeedbackKind.PERMANENT_BOUNCE, 0)
        return Rate("bounce", hard, self.sends, BOUNCE_THRESHOLDS)

    @property
    def complaint_rate(self) -> Rate:
        return Rate("complaint", self.counts.get(FeedbackKind.COMPLAINT, 0), self.sends, COMPLAINT_THRESHOLDS)

    @property
    def status(self) -> RateStatus:
        return max(self.bounce_rate.status, self.complaint_rate.status, key=_SEVERITY.index)
