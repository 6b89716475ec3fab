"""SES bounces, complaints and deliveries, from the SQS queue subscribed to the configuration set's SNS
topic: suppresses addresses that must not get email again. A record that is not an SES notification is
reported in `batchItemFailures` (SQS retries it, then moves it to the queue's DLQ); the rest of the
batch carries on. Handling a notification twice changes nothing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.bootstrap import dependencies
from plutomi.domain.email_feedback import Ignored, MalformedFeedback, parse_record_body
from plutomi.entrypoints.consumer import new_batch_processor
from plutomi.observability import invocation_log_keys, logger
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


@invocation_log_keys()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=handle, processor=new_batch_processor(), context=context
        )
    )
