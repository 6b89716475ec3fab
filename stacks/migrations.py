"""Migrations on every deploy: `plutomi migrate` (indexes, streams, consumers) as a CloudFormation
custom resource, in the stack every other stack depends on, so new code deploys only after the
indexes and streams it needs exist.

The resource's one property is the plutomi layer's asset (named by its content hash; the migration
code and the index and stream declarations live in that package), so CloudFormation updates it, and
the handler migrates again, whenever that code changes; a deploy that changes none of it skips the
step. Migrating is idempotent either way. A failed migration fails the deploy before any other stack
changes.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources
from constructs import Construct

from plutomi.topology import DEPLOY_STEPS
from stacks.base import BASIC_EXECUTION_POLICY, PlutomiStack, acknowledge_nag
from stacks.settings import DeploySettings

MIGRATE = next(step for step in DEPLOY_STEPS if step.name == "migrate")
MIGRATIONS_RESOURCE_TYPE = "Custom::PlutomiMigrations"


class MigrationsStack(PlutomiStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, settings=settings, **kwargs)
        self.migrate_function = self.plutomi_function(
            MIGRATE.function, timeout=cdk.Duration.seconds(MIGRATE.timeout_seconds)
        )
        self.provider = custom_resources.Provider(
            self,
            "MigrationsProvider",
            on_event_handler=self.migrate_function,
            log_group=self.log_group("MigrationsProviderLogs"),
        )
        migrate_resource = self.migrate_function.node.default_child
        assert isinstance(migrate_resource, lambda_.CfnFunction)
        acknowledge_nag(
            self.provider,
            f"AwsSolutions-IAM5[Resource::<{self.resolve(migrate_resource.logical_id)}.Arn>:*]",
            "CDK's provider framework may invoke any version of the migrate function, and only that",
        )
        acknowledge_nag(
            self.provider,
            f"AwsSolutions-IAM4[Policy::{BASIC_EXECUTION_POLICY}]",
            "AWSLambdaBasicExecutionRole only writes the provider framework's own logs",
        )
        self.migrations = cdk.CustomResource(
            self,
            "Migrations",
            service_token=self.provider.service_token,
            resource_type=MIGRATIONS_RESOURCE_TYPE,
            properties={"PlutomiLayerAsset": self._plutomi_layer_asset()},
        )

    def _plutomi_layer_asset(self) -> str:
        """The S3 key of this stack's plutomi layer asset, named by the hash of its content: it changes
        with any file of the package, whatever builds the layer."""
        layer = self.plutomi_layer.node.default_child
        assert isinstance(layer, lambda_.CfnLayerVersion)
        content = layer.content
        assert isinstance(content, lambda_.CfnLayerVersion.ContentProperty)
        key: str = content.s3_key
        return key
