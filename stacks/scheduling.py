"""Scheduled handlers (`plutomi.topology.SCHEDULED`), each run by an EventBridge rule at its rate, and
the alarms on what `scheduled.dead_letter_depth` publishes: one per consumer's DLQ."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from plutomi.topology import CONSUMERS, DEAD_LETTER_DEPTH_METRIC, METRICS_NAMESPACE, SCHEDULED
from stacks import alarms
from stacks.base import SERVICE_NAME, PlutomiStack, construct_id_of
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
        self.dead_letter_alarms = {
            consumer.name: self._dead_letter_alarm(consumer.name) for consumer in CONSUMERS
        }

    def _dead_letter_alarm(self, consumer: str) -> cloudwatch.Alarm:
        """Any entry in the consumer's DLQ. The depth is published every minute, zero too, so no data
        means `scheduled.dead_letter_depth` stopped: that notifies as well (INSUFFICIENT_DATA)."""
        depth = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=DEAD_LETTER_DEPTH_METRIC,
            # As the function publishes it: PLUTOMI_ENV is the stage, POWERTOOLS_SERVICE_NAME the service.
            dimensions_map={"consumer": consumer, "stage": self.settings.stage, "service": SERVICE_NAME},
            period=alarms.PERIOD,
            statistic=cloudwatch.Stats.MAXIMUM,
        )
        return self.alarm(
            alarms.at_least(
                self,
                f"{construct_id_of(consumer.replace('-', '_'))}DeadLettersAlarm",
                name=f"{self.settings.prefix}-dlq-{consumer}-not-empty",
                description=(
                    f"events wait in the {consumer} DLQ ({self.settings.stage}): `plutomi dlq list "
                    f"--consumer {consumer}`"
                ),
                metric=depth,
                threshold=1,
                missing=cloudwatch.TreatMissingData.MISSING,
            ),
            when_data_stops=True,
        )
