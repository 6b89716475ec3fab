"""A function fed by an SQS queue (`plutomi.topology.SQS_CONSUMERS`): the queue, its DLQ, the event
source with partial batch responses, and the alarm on the DLQ. The SES feedback (stacks/email.py) and
the malware scan results (stacks/documents.py) are wired the same way; only what fills the queue
differs (an SNS subscription, an EventBridge rule).

The queue keeps a message 4 days, and its visibility is at least 6x the function's timeout (AWS's
advice for an SQS event source: a batch retried inside the poller never reappears while it is still
being processed). After `max_receive_count` receives a message goes to the DLQ, which keeps it
longer than the queue does: one moved on its last day still gets 10 days there, for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs

from plutomi.topology import SqsConsumer
from stacks import alarms
from stacks.base import PlutomiStack
from stacks.settings import DeploySettings

QUEUE_RETENTION = cdk.Duration.days(4)
DLQ_RETENTION = cdk.Duration.days(14)


def queue_names(settings: DeploySettings, consumer: SqsConsumer) -> tuple[str, str]:
    """`consumer`'s queue and DLQ: `plutomi-<stage>-<name>` and `plutomi-<stage>-<name>-dlq`."""
    queue = f"{settings.prefix}-{consumer.name}"
    return queue, f"{queue}-dlq"


def visibility_of(consumer: SqsConsumer) -> cdk.Duration:
    return cdk.Duration.seconds(max(consumer.visibility_timeout_seconds, 6 * consumer.timeout_seconds))


@dataclass(frozen=True)
class SqsFed:
    queue: sqs.Queue
    dead_letters: sqs.Queue
    function: lambda_.Function


def sqs_fed_function(
    stack: PlutomiStack,
    consumer: SqsConsumer,
    *,
    id_prefix: str,
    what: str,
    environment: dict[str, str] | None = None,
) -> SqsFed:
    """`consumer`'s queue and DLQ (`queue_names`; construct ids `<id_prefix>Queue` and
    `<id_prefix>DeadLetters`), and its function reading the queue. `what` names the messages in the
    DLQ alarm's description ("SES feedback messages")."""
    settings = stack.settings
    queue_name, dlq_name = queue_names(settings, consumer)
    dead_letters = sqs.Queue(
        stack,
        f"{id_prefix}DeadLetters",
        queue_name=dlq_name,
        retention_period=DLQ_RETENTION,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    queue = sqs.Queue(
        stack,
        f"{id_prefix}Queue",
        queue_name=queue_name,
        retention_period=QUEUE_RETENTION,
        visibility_timeout=visibility_of(consumer),
        dead_letter_queue=sqs.DeadLetterQueue(
            queue=dead_letters, max_receive_count=consumer.max_receive_count
        ),
        # SQS-managed keys: SNS and EventBridge deliver to it without a KMS permission of their own.
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    function = stack.plutomi_function(
        consumer.function,
        timeout=cdk.Duration.seconds(consumer.timeout_seconds),
        environment=environment,
    )
    function.add_event_source(
        event_sources.SqsEventSource(
            queue,
            batch_size=consumer.batch_size,
            report_batch_item_failures=True,
            # With reserved concurrency, the poller must not start more than it leaves room for:
            # a throttled batch counts as a receive and would reach the DLQ.
            max_concurrency=settings.reserved_concurrency_of(consumer.function),
        )
    )
    # A message that failed every receive waits in the DLQ for a person.
    stack.alarm(
        alarms.at_least(
            stack,
            f"{id_prefix}DeadLettersAlarm",
            name=f"{dlq_name}-not-empty",
            description=f"{what} wait in {dlq_name} ({settings.stage})",
            metric=dead_letters.metric_approximate_number_of_messages_visible(
                period=alarms.PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=1,
        )
    )
    return SqsFed(queue=queue, dead_letters=dead_letters, function=function)
