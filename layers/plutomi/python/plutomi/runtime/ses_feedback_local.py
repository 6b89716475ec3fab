"""The SES feedback path on a local endpoint (moto's server): what `plutomi migrate` creates, and
`plutomi ses simulate`.

On AWS the email stack creates these resources. Locally `migrate` creates, idempotently, the same
shape: the SNS topic, the SQS queue with its DLQ (redrive after `max_receive_count` receives; the DLQ
keeps messages longer than the queue), the topic's subscription to the queue (SNS envelopes, not raw
delivery), and the configuration set with its SNS event destination. moto stores that destination but
publishes nothing, so `simulate` publishes what SES would: an `eventType` notification, as a
configuration set's SNS destination sends it, to the topic. moto delivers it to the queue, and the
poller (`runtime/sqs_poller.py`, run by `plutomi dev`) feeds it to `consumers.ses_feedback`.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from plutomi.config import Settings
from plutomi.topology import SQS_CONSUMERS, SqsConsumer

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

EVENT_DESTINATION = "plutomi-ses-feedback"
# What the stack's configuration set publishes (SES v1 API names).
MATCHING_EVENT_TYPES = ["bounce", "complaint", "delivery", "reject", "deliveryDelay"]
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600  # SQS's default
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: longer than the queue, so nothing ages out first

Kind = Literal["bounce", "complaint", "delivery"]
BounceType = Literal["Permanent", "Transient", "Undetermined"]


def feedback_consumer() -> SqsConsumer:
    (consumer,) = [c for c in SQS_CONSUMERS if c.function == "consumers.ses_feedback"]
    return consumer


@dataclass(frozen=True)
class FeedbackPipeline:
    topic_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    subscription_arn: str
    configuration_set: str | None


def ensure_feedback_pipeline(settings: Settings, say: Callable[[str], None] = print) -> FeedbackPipeline:
    """Creates what is missing and brings the rest to the declared shape; safe to run again."""
    from plutomi.bootstrap import aws_client

    sns: SNSClient = aws_client("sns")
    sqs: SQSClient = aws_client("sqs")
    consumer = feedback_consumer()

    topic_arn = sns.create_topic(Name=settings.ses_feedback_topic)["TopicArn"]  # idempotent by name
    say(f"sns topic {settings.ses_feedback_topic}: ok")

    dlq_url = _queue(sqs, settings.ses_feedback_dlq, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
    dlq_arn = _queue_arn(sqs, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": consumer.max_receive_count}
    queue_url = _queue(
        sqs,
        settings.ses_feedback_queue,
        {
            "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
            "VisibilityTimeout": str(consumer.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    queue_arn = _queue_arn(sqs, queue_url)
    say(
        f"sqs queue {settings.ses_feedback_queue} (dlq {settings.ses_feedback_dlq} after "
        f"{consumer.max_receive_count} receives): ok"
    )

    # Subscribing again with the same endpoint returns the existing subscription.
    subscription_arn = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    say(f"sns subscription {settings.ses_feedback_topic} -> {settings.ses_feedback_queue}: ok")

    if settings.ses_configuration_set:
        _ensure_configuration_set(settings.ses_configuration_set, topic_arn)
        say(f"ses configuration set {settings.ses_configuration_set} -> {settings.ses_feedback_topic}: ok")
    return FeedbackPipeline(
        topic_arn, queue_url, queue_arn, dlq_url, dlq_arn, subscription_arn, settings.ses_configuration_set
    )


def _queue(sqs: SQSClient, name: str, attributes: dict[str, str]) -> str:
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)  # type: ignore[arg-type]
    return url


def _queue_arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _ensure_configuration_set(name: str, topic_arn: str) -> None:
    """The configuration set and its SNS event destination, through the SES v1 API (moto's SES v2 has no
    event destinations; both APIs share the configuration sets)."""
    from plutomi.bootstrap import aws_client

    ses: Any = aws_client("ses")
    with contextlib.suppress(ses.exceptions.ConfigurationSetAlreadyExistsException):
        ses.create_configuration_set(ConfigurationSet={"Name": name})
    described = ses.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
    )
    if any(d and d.get("Name") == EVENT_DESTINATION for d in described.get("EventDestinations", [])):
        return
    with contextlib.suppress(ses.exceptions.EventDestinationAlreadyExistsException):
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestination={
                "Name": EVENT_DESTINATION,
                "Enabled": True,
                "MatchingEventTypes": MATCHING_EVENT_TYPES,
                "SNSDestination": {"TopicARN": topic_arn},
            },
        )


def topic_arn(settings: Settings) -> str:
    """The feedback topic's ARN; refuses when `plutomi migrate` has not created it."""
    from plutomi.bootstrap import aws_client

    sns: SNSClient = aws_client("sns")
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            arn = topic.get("TopicArn", "")
            if arn.rsplit(":", 1)[-1] == settings.ses_feedback_topic:
                return arn
    raise LookupError(f"no SNS topic {settings.ses_feedback_topic!r}; run `plutomi migrate` first")


# ---------------------------------------------------------------------- simulating SES


@dataclass(frozen=True)
class SentMail:
    """What SES's `mail` object says about the email a notification is about."""

    message_id: str
    source: str
    subject: str = ""


def ses_notification(
    kind: Kind,
    to: str,
    *,
    at: datetime,
    mail: SentMail,
    bounce_type: BounceType = "Permanent",
    bounce_subtype: str = "General",
    feedback_id: str | None = None,
    configuration_set: str | None = None,
) -> dict[str, Any]:
    """An SES event-publishing notification (`eventType` form), shaped as SES sends it."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    feedback_id = feedback_id or f"0100{uuid.uuid4().hex}-{uuid.uuid4()}-000000"
    sender = mail.source.rsplit("<", 1)[-1].rstrip(">").strip()
    notification: dict[str, Any] = {
        "eventType": kind.capitalize(),
        "mail": {
            "timestamp": stamp,
            "source": mail.source,
            "sourceArn": f"arn:aws:ses:us-east-1:000000000000:identity/{sender}",
            "sendingAccountId": "000000000000",
            "messageId": mail.message_id,
            "destination": [to],
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": mail.source},
                {"name": "To", "value": to},
                {"name": "Subject", "value": mail.subject},
            ],
            "commonHeaders": {"from": [mail.source], "to": [to], "subject": mail.subject},
            "tags": {
                "ses:configuration-set": [configuration_set or ""],
                "ses:from-domain": [sender.rsplit("@", 1)[-1]],
            },
        },
    }
    if kind == "bounce":
        permanent = bounce_type == "Permanent"
        notification["bounce"] = {
            "bounceType": bounce_type,
            "bounceSubType": bounce_subtype,
            "bouncedRecipients": [
                {
                    "emailAddress": to,
                    "action": "failed",
                    "status": "5.1.1" if permanent else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                    if permanent
                    else "smtp; 452 4.2.2 mailbox full",
                }
            ],
            "timestamp": stamp,
            "feedbackId": feedback_id,
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        }
    elif kind == "complaint":
        notification["complaint"] = {
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": stamp,
            "feedbackId": feedback_id,
            "userAgent": "plutomi ses simulate",
            "complaintFeedbackType": "abuse",
            "arrivalDate": stamp,
        }
    else:
        notification["delivery"] = {
            "timestamp": stamp,
            "processingTimeMillis": 512,
            "recipients": [to],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    return notification


def last_mail_to(settings: Settings, to: str) -> SentMail | None:
    """The newest email the local SES accepted for `to`, so a simulated notification is about it."""
    from plutomi.runtime.local_mail import list_sent_emails

    if not settings.aws_endpoint_url:
        return None
    sent = list_sent_emails(settings.aws_endpoint_url, to=to)
    if not sent:
        return None
    return SentMail(sent[0].message_id, sent[0].source, sent[0].subject)


def simulate(
    settings: Settings,
    kind: Kind,
    to: str,
    *,
    at: datetime | None = None,
    bounce_type: BounceType = "Permanent",
    bounce_subtype: str | None = None,
    feedback_id: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """Publishes a notification to the feedback topic as SES would; returns the notification."""
    mail = last_mail_to(settings, to) if message_id is None else None
    if mail is None:
        mail = SentMail(message_id or f"0100{uuid.uuid4().hex}-{uuid.uuid4()}-000000", settings.email_from)
    subtype = bounce_subtype or ("General" if bounce_type != "Undetermined" else "Undetermined")
    notification = ses_notification(
        kind,
        to,
        at=at or datetime.now(UTC),
        mail=mail,
        bounce_type=bounce_type,
        bounce_subtype=subtype,
        feedback_id=feedback_id,
        configuration_set=settings.ses_configuration_set,
    )
    publish(settings, json.dumps(notification))
    return notification


def publish(settings: Settings, message: str) -> str:
    """Publishes `message` to the feedback topic, as SES does (for tests: anything at all)."""
    from plutomi.bootstrap import aws_client

    sns: SNSClient = aws_client("sns")
    return sns.publish(TopicArn=topic_arn(settings), Message=message)["MessageId"]
