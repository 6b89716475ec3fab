"""The meta and super-meta consumers: turn JetStream max-deliveries advisories into pointers on the
retry tier and the DLQ, so no event is lost when its consumer keeps failing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.bootstrap import dependencies
from plutomi.domain.delivery import Advisory
from plutomi.entrypoints.consumer import new_batch_processor
from plutomi.observability import invocation_log_keys, logger
from plutomi.services import dead_letters


def handle(record: SQSRecord) -> dict[str, Any]:
    advisory = Advisory.model_validate_json(record.body)
    outcome = dead_letters.handle_advisory(dependencies(), advisory)
    logger.info(
        "advisory handled",
        extra={
            "advisory_id": advisory.id,
            "stream": advisory.stream,
            "consumer": advisory.consumer,
            **outcome,
        },
    )
    return outcome


@invocation_log_keys()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Publishing a pointer is idempotent (deduplicated by advisory id), so no idempotency layer here.
    return dict(
        process_partial_response(
            event=event, record_handler=handle, processor=new_batch_processor(), context=context
        )
    )
