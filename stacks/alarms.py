"""CloudWatch alarms and the SNS topic they notify, `plutomi-<stage>-alarms`.

The topic lives in the email stack (which every other stack already follows); the other stacks send
to it by its fixed name (`alarm_topic_arn`), so no cross-stack export is involved. It is encrypted
with a key of its own, because CloudWatch may not use the AWS-managed `aws/sns` key, and its policy
lets CloudWatch alarms of this account publish, over TLS only.

Alarms notify when they go into ALARM, not when they return to OK: every new alarm goes from
INSUFFICIENT_DATA to OK once, so OK actions would send one email per alarm on every first deploy.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.settings import DeploySettings
from stacks.topic_keys import publisher_key

PERIOD = cdk.Duration.minutes(5)
# A function's errors (it raised, timed out or ran out of memory) and throttles: any one, in 5 minutes.
LAMBDA_ERRORS_THRESHOLD = 1
LAMBDA_THROTTLES_THRESHOLD = 1
# The HTTP API: the share of answers that are 5xx, in 2 of 3 five-minute periods, counted only from
# this many requests in a period (below that one failed request would be a rate of 50% or more).
API_5XX_RATE_THRESHOLD = 0.05
API_5XX_MINIMUM_REQUESTS = 10
# The HTTP API's p99 latency (API Gateway's, cold starts included), in 3 five-minute periods running.
API_LATENCY_STATISTIC = "p99"
API_LATENCY_THRESHOLD_MS = 5_000

ALARM_EMAIL_UNSET = (
    "Context alarm_email is not set: the alarm topic has no subscriber and nobody hears of an alarm. "
    "Pass -c alarm_email=ops@example.com (or subscribe to the topic yourself)."
)


def alarm_topic_name(settings: DeploySettings) -> str:
    return f"{settings.prefix}-alarms"


def alarm_topic_arn(stack: cdk.Stack, settings: DeploySettings) -> str:
    arn: str = stack.format_arn(
        service="sns", resource=alarm_topic_name(settings), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
    )
    return arn


class AlarmTopic(Construct):
    """The topic every alarm notifies, its key, and the `alarm_email` subscription when one is set."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploySettings) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        # CloudWatch encrypts what it publishes with the topic's key, so it must be allowed to use it.
        self.key = publisher_key(
            self,
            "Key",
            settings=settings,
            alias=f"alias/{alarm_topic_name(settings)}",
            description=f"encrypts the SNS topic {alarm_topic_name(settings)}",
            publisher=cloudwatch_principal.service,
            sid="CloudWatchAlarmsPublishToTheTopic",
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=alarm_topic_name(settings),
            display_name=f"Plutomi {settings.stage} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # The topic's policy replaces SNS's default one (enforce_ssl writes one), so CloudWatch's
        # right to publish is stated here: this account's alarms only.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        else:
            cdk.Annotations.of(self).add_warning_v2("plutomi:alarm-email-unset", ALARM_EMAIL_UNSET)


def notify(alarm: cloudwatch.Alarm, topic: sns.ITopic, *, when_data_stops: bool = False) -> cloudwatch.Alarm:
    """Sends the alarm's ALARM state to `topic`; with `when_data_stops`, INSUFFICIENT_DATA too (for a
    metric that is published every run, so missing data means its publisher stopped)."""
    action = cloudwatch_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    if when_data_stops:
        alarm.add_insufficient_data_action(action)
    return alarm


def at_least(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    description: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
    missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
) -> cloudwatch.Alarm:
    """An alarm on `metric` reaching `threshold`."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=name,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=missing,
    )
