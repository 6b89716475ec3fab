"""Publishes how many entries each consumer's DLQ holds, as the `DeadLetterDepth` metric (zero for an
empty one), which the CloudWatch alarms watch. Runs every minute."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.bootstrap import dependencies
from plutomi.observability import invocation_log_keys, logger, publish_counts
from plutomi.services import dead_letters
from plutomi.topology import DEAD_LETTER_DEPTH_METRIC


@invocation_log_keys()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    depth = dead_letters.depth_by_consumer(deps)
    publish_counts(DEAD_LETTER_DEPTH_METRIC, "consumer", depth, stage=deps.settings.environment)
    logger.info("dead letter depth", extra={"depth": depth})
    return {"depth": depth}
