"""Email: the SES domain identity, the configuration set every email uses, and the feedback loop; and
the alarm topic (see stacks/alarms.py), here because every other stack already follows this one.

SES -> configuration set event destination -> SNS topic -> SQS queue (its own DLQ) -> `ses_feedback`.
The topic takes TLS only and is encrypted with its own KMS key, whose policy lets SES publish.
The queue receives SNS envelopes (raw delivery off): the consumer reads the SES notification from the
envelope's `Message`. Bounces and complaints put addresses on the suppression list.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from plutomi.topology import SQS_CONSUMERS
from stacks import alarms
from stacks.base import PlutomiStack
from stacks.settings import DeploySettings
from stacks.topic_keys import publisher_key

SES_FEEDBACK_FUNCTION = "consumers.ses_feedback"
# Batch size, receives before the DLQ and the function's timeout are shared with the local poller.
FEEDBACK = next(consumer for consumer in SQS_CONSUMERS if consumer.function == SES_FEEDBACK_FUNCTION)
FEEDBACK_EVENTS = (
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
)
FEEDBACK_TIMEOUT = cdk.Duration.seconds(FEEDBACK.timeout_seconds)
# AWS's advice for an SQS event source: visibility at least 6x the function timeout, so a batch that
# is retried inside the poller never reappears while it is still being processed.
FEEDBACK_VISIBILITY = cdk.Duration.seconds(
    max(FEEDBACK.visibility_timeout_seconds, 6 * FEEDBACK.timeout_seconds)
)
FEEDBACK_RETENTION = cdk.Duration.days(4)
# Longer than the source queue: a message moved to the DLQ on its last day still gets 10 days there.
FEEDBACK_DLQ_RETENTION = cdk.Duration.days(14)


class EmailStack(PlutomiStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, settings=settings, **kwargs)
        # First: the functions below get their alarms, which notify it.
        self.alarm_topic_construct = alarms.AlarmTopic(self, "Alarms", settings=settings)
        self._alarm_topic = self.alarm_topic_construct.topic

        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=settings.configuration_set_name,
            reputation_metrics=True,
        )
        if settings.hosted_zone_id:
            # With the zone at hand, the DKIM CNAMEs and MAIL FROM MX/TXT records are created too.
            zone = route53.PublicHostedZone.from_public_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=settings.hosted_zone_id, zone_name=settings.domain
            )
            identity = ses.Identity.public_hosted_zone(zone)
        else:
            identity = ses.Identity.domain(settings.domain)
        self.identity = ses.EmailIdentity(
            self,
            "DomainIdentity",
            identity=identity,
            dkim_identity=ses.DkimIdentity.easy_dkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
            dkim_signing=True,
            mail_from_domain=settings.mail_from_domain,
            mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
            configuration_set=self.configuration_set,
        )

        self.feedback_topic_name = f"{settings.prefix}-ses-feedback"
        self.feedback_queue_name = f"{settings.prefix}-ses-feedback"
        self.feedback_dlq_name = f"{settings.prefix}-ses-feedback-dlq"
        self.feedback_topic_key = self._feedback_topic_key()
        self.feedback_topic = sns.Topic(
            self,
            "FeedbackTopic",
            topic_name=self.feedback_topic_name,
            display_name="SES feedback",
            master_key=self.feedback_topic_key,
            enforce_ssl=True,
        )
        ses.ConfigurationSetEventDestination(
            self,
            "FeedbackDestination",
            configuration_set=self.configuration_set,
            configuration_set_event_destination_name="feedback-to-sns",
            destination=ses.EventDestination.sns_topic(self.feedback_topic),
            events=list(FEEDBACK_EVENTS),
        )

        self.feedback_dlq = sqs.Queue(
            self,
            "FeedbackDeadLetters",
            queue_name=self.feedback_dlq_name,
            retention_period=FEEDBACK_DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.feedback_queue = sqs.Queue(
            self,
            "FeedbackQueue",
            queue_name=self.feedback_queue_name,
            retention_period=FEEDBACK_RETENTION,
            visibility_timeout=FEEDBACK_VISIBILITY,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.feedback_dlq, max_receive_count=FEEDBACK.max_receive_count
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        # Raw delivery off: the consumer unwraps SNS envelopes (and tolerates raw messages too).
        self.feedback_topic.add_subscription(
            subscriptions.SqsSubscription(self.feedback_queue, raw_message_delivery=False)
        )

        # The module is written by the feedback side of the app; here it is only a handler path.
        self.feedback_function = self.plutomi_function(
            SES_FEEDBACK_FUNCTION,
            timeout=FEEDBACK_TIMEOUT,
            # The names `plutomi dev` and `plutomi ses ...` use locally, here the real ones.
            environment={
                "PLUTOMI_SES_FEEDBACK_TOPIC": self.feedback_topic_name,
                "PLUTOMI_SES_FEEDBACK_QUEUE": self.feedback_queue_name,
                "PLUTOMI_SES_FEEDBACK_DLQ": self.feedback_dlq_name,
            },
        )
        self.feedback_function.add_event_source(
            event_sources.SqsEventSource(
                self.feedback_queue,
                batch_size=FEEDBACK.batch_size,
                report_batch_item_failures=True,
                # With reserved concurrency, the poller must not start more than it leaves room for:
                # a throttled batch counts as a receive and would reach the DLQ.
                max_concurrency=settings.reserved_concurrency_of(SES_FEEDBACK_FUNCTION),
            )
        )
        # A feedback message that failed every receive waits in the DLQ for a person.
        self.alarm(
            alarms.at_least(
                self,
                "FeedbackDeadLettersAlarm",
                name=f"{self.feedback_dlq_name}-not-empty",
                description=f"SES feedback messages wait in {self.feedback_dlq_name} ({settings.stage})",
                metric=self.feedback_dlq.metric_approximate_number_of_messages_visible(
                    period=alarms.PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=1,
            )
        )

        self._outputs()

    def _feedback_topic_key(self) -> kms.Key:
        """The feedback topic's own key, which SES, publishing to the topic, may use. The subscribed
        queue stays SQS-managed: SNS needs no key of its own to deliver."""
        return publisher_key(
            self,
            "FeedbackTopicKey",
            settings=self.settings,
            description=f"{self.settings.prefix}: encrypts the SES feedback topic at rest",
            publisher="ses.amazonaws.com",
            sid="SesPublishesFeedbackThroughThisConfigurationSet",
            conditions={
                "StringEquals": {"aws:SourceAccount": self.account},
                "ArnLike": {"aws:SourceArn": self.configuration_set_arn},
            },
        )

    def _outputs(self) -> None:
        settings = self.settings
        cdk.CfnOutput(self, "ConfigurationSetName", value=settings.configuration_set_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)
        cdk.CfnOutput(self, "FeedbackTopicArn", value=self.feedback_topic.topic_arn)
        cdk.CfnOutput(self, "FeedbackQueueUrl", value=self.feedback_queue.queue_url)
        cdk.CfnOutput(self, "FeedbackDeadLetterQueueUrl", value=self.feedback_dlq.queue_url)
        # The DNS records that verify the domain, for whoever runs its DNS (none needed with hosted_zone_id).
        for index, record in enumerate(self.identity.dkim_records, start=1):
            cdk.CfnOutput(
                self, f"DkimRecord{index}", value=cdk.Fn.join(" ", ["CNAME", record.name, record.value])
            )
        cdk.CfnOutput(
            self,
            "MailFromMxRecord",
            value=f"MX {settings.mail_from_domain} 10 feedback-smtp.{self.region}.amazonses.com",
        )
        cdk.CfnOutput(
            self,
            "MailFromSpfRecord",
            value=f'TXT {settings.mail_from_domain} "v=spf1 include:amazonses.com ~all"',
        )
