"""Carries on every unfinished org purge (paused, crashed halfway, waiting out its grace period) and
frees the org ids of those that are done. Runs every minute."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.bootstrap import dependencies
from plutomi.observability import invocation_log_keys, logger
from plutomi.services import org_purge

# Stops starting batches this long before the function's timeout.
MARGIN_MS = 10_000


@invocation_log_keys()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def keep_going() -> bool:
        return context.get_remaining_time_in_millis() > MARGIN_MS

    result = asdict(org_purge.sweep(dependencies(), keep_going))
    logger.info("org purge sweep", extra=result)
    return result
