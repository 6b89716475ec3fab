"""Scheduled handlers (`plutomi.topology.SCHEDULED`), each run by an EventBridge rule at its rate."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from plutomi.topology import SCHEDULED
from stacks.base import PlutomiStack, construct_id_of
from stacks.settings import DeploySettings

# Shorter than the one-minute period, so runs of the idle sweeper do not pile up.
SCHEDULED_TIMEOUT = cdk.Duration.seconds(55)


class SchedulingStack(PlutomiStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploySettings,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, settings=settings, **kwargs)
        self.rules: dict[str, events.Rule] = {}
        for job in SCHEDULED:
            fn = self.plutomi_function(
                job.function,
                timeout=SCHEDULED_TIMEOUT,
                environment={"PLUTOMI_BASE_URL": base_url} if base_url else None,
                # The next run does the same work: a failed run is not retried.
                retry_attempts=0,
            )
            self.rules[job.function] = events.Rule(
                self,
                f"{construct_id_of(job.function)}Schedule",
                rule_name=f"{settings.prefix}-{job.name}",
                description=f"runs {job.function} every {job.every_minutes} minute(s)",
                schedule=events.Schedule.rate(cdk.Duration.minutes(job.every_minutes)),
                targets=[
                    targets.LambdaFunction(
                        fn, retry_attempts=2, max_event_age=cdk.Duration.minutes(job.every_minutes)
                    )
                ],
            )
