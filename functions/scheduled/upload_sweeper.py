"""Deletes uploads nobody confirmed in time, object and record. Runs every 5 minutes; on AWS the
bucket's lifecycle rule for objects still tagged unconfirmed is the backstop."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.bootstrap import dependencies
from plutomi.observability import invocation_log_keys, logger
from plutomi.services.documents import sweep_uploads


@invocation_log_keys()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = asdict(sweep_uploads(dependencies()))
    logger.info("upload sweep", extra=result)
    return result
