"""The JetStream consumers as Lambda functions, for `plutomi bridge --consumer C --target lambda`.

The bridge runs next to NATS (K3S, ECS, a VM), pulls batches and invokes these functions with
SQS-shaped events. It assumes the role below, which may invoke these functions and nothing else.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from plutomi.topology import CONSUMER_TIMEOUT_SECONDS, SQS_CONSUMERS, all_tiers
from stacks.base import PlutomiStack, physical_name_of
from stacks.settings import DeploySettings

# The bridge keeps the messages in progress meanwhile, and waits longer than this for an answer.
CONSUMER_TIMEOUT = cdk.Duration.seconds(CONSUMER_TIMEOUT_SECONDS)
SENDS_EMAIL = frozenset({"consumers.notifications"})
_ACCOUNT = re.compile(r"^\d{12}$")


def consumer_functions() -> list[str]:
    """Every handler a JetStream tier runs (notifications, webhooks, meta for meta and super-meta).
    SQS-fed consumers (ses_feedback) live with their queue in the email stack, not behind the bridge."""
    sqs_fed = {consumer.function for consumer in SQS_CONSUMERS}
    return sorted({tier.function for tier in all_tiers() if tier.function} - sqs_fed)


class ConsumersStack(PlutomiStack):
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
        for function in consumer_functions():
            fn = self.plutomi_function(
                function,
                timeout=CONSUMER_TIMEOUT,
                # Fixed names: the bridge is told them (`--function-name`, see the stack outputs).
                function_name=physical_name_of(settings, function),
                environment={"PLUTOMI_BASE_URL": base_url} if base_url else None,
                # The bridge invokes synchronously and retries through JetStream itself.
                retry_attempts=0,
            )
            if function in SENDS_EMAIL:
                self.grant_send_email(fn)
            cdk.CfnOutput(self, f"{fn.node.id}FunctionName", value=fn.function_name)

        invoke_only = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="InvokePlutomiConsumersOnly",
                    actions=["lambda:InvokeFunction"],
                    resources=[fn.function_arn for fn in self.functions.values()],
                )
            ]
        )
        self.bridge_role = iam.Role(
            self,
            "BridgeInvokerRole",
            role_name=f"{settings.prefix}-bridge-invoker",
            description="assumed by `plutomi bridge --target lambda`: may invoke the consumer functions only",
            assumed_by=self._bridge_principal(),
            inline_policies={"invoke-consumers": invoke_only},
            max_session_duration=cdk.Duration.hours(12),
        )
        cdk.CfnOutput(self, "BridgeRoleArn", value=self.bridge_role.role_arn)

    def _bridge_principal(self) -> iam.IPrincipal:
        """Context `bridge_principal`: a 12-digit account id, an IAM ARN (an ECS task role, a user),
        or a role name in this account. Unset: this account (its IAM policies then decide who)."""
        principal = self.settings.bridge_principal
        if principal is None:
            return iam.AccountRootPrincipal()
        if _ACCOUNT.match(principal):
            return iam.AccountPrincipal(principal)
        if principal.startswith("arn:"):
            return iam.ArnPrincipal(principal)
        return iam.ArnPrincipal(
            self.format_arn(service="iam", region="", resource="role", resource_name=principal)
        )
