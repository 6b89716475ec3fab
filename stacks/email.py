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
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from plutomi.topology import SQS_CONSUMERS
from stacks import alarms
from stacks.base import PlutomiStack
from stacks.queues import queue_names, sqs_fed_function
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

        # The module is written by the feedback side of the app; here it is only a handler path.
        queue_name, dlq_name = queue_names(settings, FEEDBACK)
        feedback = sqs_fed_function(
            self,
            FEEDBACK,
            id_prefix="Feedback",
            what="SES feedback messages",
            # The names `plutomi dev` and `plutomi ses ...` use locally, here the real ones.
            environment={
                "PLUTOMI_SES_FEEDBACK_TOPIC": self.feedback_topic_name,
                "PLUTOMI_SES_FEEDBACK_QUEUE": queue_name,
                "PLUTOMI_SES_FEEDBACK_DLQ": dlq_name,
            },
        )
        self.feedback_queue, self.feedback_dlq = feedback.queue, feedback.dead_letters
        self.feedback_function = feedback.function
        # Raw delivery off: the consumer unwraps SNS envelopes (and tolerates raw messages too).
        self.feedback_topic.add_subscription(
            subscriptions.SqsSubscription(self.feedback_queue, raw_message_delivery=False)
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
