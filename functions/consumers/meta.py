"""The meta and super-meta consumers: turn JetStream max-deliveries advisories into pointers on the
retry tier and the DLQ, so no event is lost when its consumer keeps failing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from plutomi.bootstrap import dependencies
from plutomi.domain.delivery import Advisory
from plutomi.entrypoints.consumer import batch_handler
from plutomi.observability import logger
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


# Publishing a pointer is idempotent (deduplicated by advisory id), so no idempotency layer here.
handler = batch_handler(handle)
