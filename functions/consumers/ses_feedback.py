"""SES bounces, complaints and deliveries, from the SQS queue subscribed to the configuration set's SNS
topic: suppresses addresses that must not get email again. A record that is not an SES notification is
reported in `batchItemFailures` (SQS retries it, then moves it to the queue's DLQ); the rest of the
batch carries on. Handling a notification twice changes nothing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from plutomi.bootstrap import dependencies
from plutomi.domain.email_feedback import Ignored, MalformedFeedback, parse_record_body
from plutomi.entrypoints.consumer import batch_handler
from plutomi.observability import logger
from plutomi.services import email_feedback


def handle(record: SQSRecord) -> dict[str, Any]:
    try:
        parsed = parse_record_body(record.body)
    except MalformedFeedback as error:
        # The message names fields, never values: a notification is full of email addresses.
        logger.warning(
            "not an SES notification",
            extra={
                "message_id": record.message_id,
                "receive_count": record.attributes.approximate_receive_count,
                "problem": str(error),
            },
        )
        raise
    if isinstance(parsed, Ignored):
        logger.info("SES feedback ignored", extra={"message_id": record.message_id, "reason": parsed.reason})
        return {"ignored": parsed.reason}
    outcome = email_feedback.handle_notification(dependencies(), parsed)
    logger.info(
        "SES feedback handled", extra={"message_id": record.message_id, "form": parsed.form, **outcome}
    )
    return outcome


handler = batch_handler(handle)
