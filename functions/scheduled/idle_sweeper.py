"""Moves every applicant whose stage's idle rule has run out. Runs every minute."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from plutomi.bootstrap import dependencies
from plutomi.observability import invocation_log_keys, logger
from plutomi.services.applicants import sweep_idle


@invocation_log_keys()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = asdict(sweep_idle(dependencies()))
    logger.info("idle sweep", extra=result)
    return result
