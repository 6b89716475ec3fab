"""The customer-managed KMS keys our SNS topics are encrypted with, one per topic.

A service that publishes to an encrypted topic (SES its feedback, CloudWatch its alarms) encrypts
with the topic's key, so the key's policy must let that service use it; the AWS-managed `aws/sns` key
lets no service do so. Each key is rotated yearly and, in production, kept when its stack goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.settings import DeploySettings


def publisher_key(
    scope: Construct,
    construct_id: str,
    *,
    settings: DeploySettings,
    description: str,
    publisher: str,
    sid: str,
    conditions: Mapping[str, Any] | None = None,
    alias: str | None = None,
) -> kms.Key:
    """A key that the service `publisher` (`ses.amazonaws.com`) may encrypt with, under `conditions`."""
    key = kms.Key(
        scope,
        construct_id,
        alias=alias,
        description=description,
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.RETAIN if settings.is_production else cdk.RemovalPolicy.DESTROY,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(publisher)],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" is this key
            conditions=dict(conditions) if conditions else None,
        )
    )
    return key
