"""What every Plutomi stack shares: the two layers, the secrets, and how a handler becomes a Lambda.

A function named `api.orgs` (see `plutomi.topology`) is the handler `api/orgs.handler` in the
functions code asset; the `plutomi` package comes from the plutomi layer (whose `python/` directory
Lambda puts on the path as `/opt/python`) and third-party packages from the dependencies layer. All
three are built by `stacks.packaging` into build/lambda (bytecode included); the stacks use that
build only when it is current, and otherwise say so with an error, which stops `cdk deploy`.

Each stack creates its own layer versions from the same two assets (uploaded once, by content hash)
rather than importing them from a shared stack: a layer version exported across stacks changes ARN on
every code change, and CloudFormation refuses to update an export another stack still imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from plutomi.config import SECRET_NAME_VARIABLES
from plutomi.domain.documents import KEY_PREFIX
from plutomi.topology import DOCUMENT_ACCESS, SQS_CONSUMERS
from stacks import alarms, packaging
from stacks.settings import DeploySettings

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = ROOT / "functions"
PLUTOMI_LAYER_DIR = ROOT / "layers" / "plutomi"
DEPENDENCIES_REQUIREMENTS_DIR = ROOT / "layers" / "dependencies"
# Where `make layers` (stacks.packaging) builds the three assets; the tests point it elsewhere.
LAMBDA_BUILD_DIR = packaging.LAMBDA_BUILD_DIR

# The one place the functions' Python is chosen: Amazon Linux 2023. stacks.packaging builds the
# layers' wheels and bytecode for it.
RUNTIME = lambda_.Runtime.PYTHON_3_13
# arm64 (Graviton): about 20% cheaper per GB-second than x86_64, and at least as fast for this code.
ARCHITECTURE = lambda_.Architecture.ARM_64
# What build/lambda must be built for (the tests build for this machine instead).
LAMBDA_TARGET = packaging.Target(
    RUNTIME.name.removeprefix("python"), packaging.PIP_PLATFORMS[ARCHITECTURE.name]
)
SERVICE_NAME = "plutomi"
# As cdk-nag names the managed policy every function's role gets.
BASIC_EXECUTION_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# Only for the unbuilt sources (the fallback): a built asset ships its .pyc.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache"]

# What each kind of access in `plutomi.topology.DOCUMENT_ACCESS` may do: on the objects, and on the
# bucket itself (listing, which erasing everything under a prefix, every version, needs).
DOCUMENT_OBJECT_ACTIONS: dict[str, tuple[str, ...]] = {
    "upload": ("s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging"),
    "read": ("s3:GetObject",),
    "delete": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
}
DOCUMENT_BUCKET_ACTIONS: dict[str, tuple[str, ...]] = {
    "delete": ("s3:ListBucket", "s3:ListBucketVersions"),
}
# GuardDuty's scan results reach this function (stacks/documents.py).
MALWARE_SCAN = next(consumer for consumer in SQS_CONSUMERS if consumer.name == "malware-scan")
MALWARE_SCAN_FUNCTION = MALWARE_SCAN.function

LAMBDA_ASSETS_NOT_BUILT = (
    "The Lambda assets in build/lambda are not current ({reasons}): deploying would ship the sources "
    "without the dependencies or their bytecode, and every function would fail to import. Run "
    "`make layers` (app.py, which `cdk deploy` runs, does it itself)."
)


@dataclass(frozen=True)
class LambdaAssets:
    functions: lambda_.Code
    plutomi_layer: lambda_.Code
    dependencies_layer: lambda_.Code
    dependencies_description: str


def acknowledge_nag(scope: IConstruct, rule: str, reason: str) -> None:
    """Accepts one cdk-nag finding (`AwsSolutions-L1`, or with its finding id,
    `AwsSolutions-IAM5[Resource::...]`) for `scope` and everything under it, with the reason, written
    next to the resource. CDK's own Validations API: deploying needs no cdk-nag; tests/cdk/test_nag.py
    runs the AwsSolutions pack and fails on anything not acknowledged."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def handler_of(function: str) -> str:
    """`api.orgs` -> `api/orgs.handler` (the module path inside the `functions/` asset)."""
    return function.replace(".", "/") + ".handler"


def construct_id_of(function: str) -> str:
    """`consumers.ses_feedback` -> `ConsumersSesFeedback`."""
    return "".join(part.capitalize() for part in function.replace("_", ".").split("."))


def physical_name_of(settings: DeploySettings, function: str) -> str:
    """`consumers.notifications` -> `plutomi-staging-consumers-notifications` (64 characters at most)."""
    return f"{settings.prefix}-{function.replace('.', '-').replace('_', '-')}"[:64]


class PlutomiStack(cdk.Stack):
    """A stack whose functions run Plutomi handlers with both layers, the secrets and the settings."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, termination_protection=settings.is_production, **kwargs)
        self.settings = settings
        self.assets = self._lambda_assets()
        self.plutomi_layer = lambda_.LayerVersion(
            self,
            "PlutomiLayer",
            code=self.assets.plutomi_layer,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="the plutomi package (layers/plutomi/python/plutomi -> /opt/python/plutomi)",
        )
        self.dependencies_layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=self.assets.dependencies_layer,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=self.assets.dependencies_description,
        )
        # Named, never read here: the functions read each at cold start (plutomi.config).
        self.secrets = [
            secretsmanager.Secret.from_secret_name_v2(self, f"{setting}Secret", secret_name)
            for setting, secret_name in settings.secret_names.items()
        ]
        self.functions: dict[str, lambda_.Function] = {}
        self._alarm_topic: sns.ITopic | None = None

    def _lambda_assets(self) -> LambdaAssets:
        """The built assets when current; else the sources, with an error that stops `cdk deploy`."""
        build = LAMBDA_BUILD_DIR
        stale = packaging.stale_assets(build, LAMBDA_TARGET)
        if not stale:
            return LambdaAssets(
                functions=lambda_.Code.from_asset(str(build / packaging.FUNCTIONS_ASSET)),
                plutomi_layer=lambda_.Code.from_asset(str(build / packaging.PLUTOMI_LAYER_ASSET)),
                dependencies_layer=lambda_.Code.from_asset(str(build / packaging.DEPENDENCIES_LAYER_ASSET)),
                dependencies_description=(
                    f"third-party packages (build/lambda, Python {LAMBDA_TARGET.python_version})"
                ),
            )
        reasons = "; ".join(f"{asset}: {reason}" for asset, reason in stale.items())
        cdk.Annotations.of(self).add_error(LAMBDA_ASSETS_NOT_BUILT.format(reasons=reasons))
        return LambdaAssets(
            functions=lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=ASSET_EXCLUDES),
            plutomi_layer=lambda_.Code.from_asset(str(PLUTOMI_LAYER_DIR), exclude=ASSET_EXCLUDES),
            dependencies_layer=lambda_.Code.from_asset(
                str(DEPENDENCIES_REQUIREMENTS_DIR), exclude=ASSET_EXCLUDES
            ),
            dependencies_description="NOT BUILT: requirements.txt only; run make layers",
        )

    def function_environment(self) -> dict[str, str]:
        """What every function is configured with (plutomi.config reads these)."""
        settings = self.settings
        env = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "PLUTOMI_ENV": settings.stage,
            "PLUTOMI_EMAIL_FROM": settings.sender,
            "PLUTOMI_SES_CONFIGURATION_SET": settings.configuration_set_name,
        }
        # The secrets by name (the variables plutomi.config reads them through); values never.
        env |= {SECRET_NAME_VARIABLES[setting]: name for setting, name in settings.secret_names.items()}
        if settings.base_url:
            env["PLUTOMI_BASE_URL"] = settings.base_url
        return env

    def log_group(self, construct_id: str) -> logs.LogGroup:
        """A log group kept three months in production (and kept when the stack goes), two weeks else."""
        return logs.LogGroup(
            self,
            construct_id,
            retention=logs.RetentionDays.THREE_MONTHS
            if self.settings.is_production
            else logs.RetentionDays.TWO_WEEKS,
            removal_policy=cdk.RemovalPolicy.RETAIN
            if self.settings.is_production
            else cdk.RemovalPolicy.DESTROY,
        )

    def plutomi_function(
        self,
        function: str,
        *,
        timeout: cdk.Duration,
        memory_mb: int = 512,
        function_name: str | None = None,
        environment: dict[str, str] | None = None,
        retry_attempts: int | None = None,
    ) -> lambda_.Function:
        """The Lambda for a handler named as in `plutomi.topology` (`api.orgs`, `consumers.meta`)."""
        construct_id = construct_id_of(function)
        log_group = self.log_group(f"{construct_id}Logs")
        fn = lambda_.Function(
            self,
            construct_id,
            function_name=function_name,
            description=f"plutomi {function} ({self.settings.stage})",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler_of(function),
            # The one functions asset: every handler module of every stack.
            code=self.assets.functions,
            layers=[self.plutomi_layer, self.dependencies_layer],
            timeout=timeout,
            memory_size=memory_mb,
            environment=self.function_environment()
            | self.documents_environment(function)
            | (environment or {}),
            log_group=log_group,
            retry_attempts=retry_attempts,
            # Bounds the MongoDB connections a burst can open (README: Deploy to AWS, reserved concurrency).
            reserved_concurrent_executions=self.settings.reserved_concurrency_of(function),
        )
        for secret in self.secrets:
            secret.grant_read(fn)
        self._grant_documents(function, fn)
        # plutomi.config reads every named secret in one BatchGetSecretValue call. That action has
        # no resource-level permissions (only "*"), and grants nothing alone: each secret still needs
        # the GetSecretValue granted above.
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["secretsmanager:BatchGetSecretValue"], resources=["*"])
        )
        acknowledge_nag(
            fn,
            "AwsSolutions-IAM5[Resource::*]",
            "secretsmanager:BatchGetSecretValue has no resource-level permissions; each secret it reads "
            "still needs the GetSecretValue granted on it alone",
        )
        acknowledge_nag(
            fn, "AwsSolutions-L1", "the runtime is pinned: the dependencies layer is built for it"
        )
        acknowledge_nag(
            fn,
            f"AwsSolutions-IAM4[Policy::{BASIC_EXECUTION_POLICY}]",
            "AWSLambdaBasicExecutionRole only writes the function's own logs",
        )
        self.functions[function] = fn
        self._function_alarms(function, fn)
        return fn

    @property
    def documents_bucket_name(self) -> str:
        """The documents bucket (stacks/documents.py), named so every stack can grant on it without a
        cross-stack export; account and region make the name unique, as S3 requires."""
        return f"{self.settings.prefix}-documents-{self.account}-{self.region}"

    @property
    def documents_bucket_arn(self) -> str:
        arn: str = self.format_arn(service="s3", region="", account="", resource=self.documents_bucket_name)
        return arn

    def documents_environment(self, function: str) -> dict[str, str]:
        """The bucket and the scanner, for the functions that handle documents: those with access to the
        bucket, and the one recording scan results."""
        if function not in DOCUMENT_ACCESS and function != MALWARE_SCAN_FUNCTION:
            return {}
        return {
            "PLUTOMI_DOCUMENTS_BUCKET": self.documents_bucket_name,
            "PLUTOMI_MALWARE_SCANNING": "guardduty" if self.settings.malware_scanning else "off",
        }

    def _grant_documents(self, function: str, fn: lambda_.Function) -> None:
        """Exactly what `DOCUMENT_ACCESS` says the function may do with the bucket; nothing without an
        entry there."""
        access = DOCUMENT_ACCESS.get(function, frozenset())
        object_actions = sorted({a for kind in access for a in DOCUMENT_OBJECT_ACTIONS.get(kind, ())})
        bucket_actions = sorted({a for kind in access for a in DOCUMENT_BUCKET_ACTIONS.get(kind, ())})
        if object_actions:
            # Every object key is under KEY_PREFIX (ours, never a user's): nothing else is granted.
            objects = f"{self.documents_bucket_arn}/{KEY_PREFIX}*"
            fn.add_to_role_policy(iam.PolicyStatement(actions=object_actions, resources=[objects]))
            acknowledge_nag(
                fn,
                f"AwsSolutions-IAM5[Resource::{self.nag_name_of(objects)}]",
                "object keys are minted per document at upload time; the grant covers only plutomi's "
                "own key prefix of the one documents bucket",
            )
        if bucket_actions:
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=bucket_actions,
                    resources=[self.documents_bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{KEY_PREFIX}*"]}},
                )
            )

    def nag_name_of(self, value: str) -> str:
        """A resource as cdk-nag names it in a finding id: `<AWS::AccountId>` for a `Ref`,
        `<Bucket83908E77.Arn>` for a `Fn::GetAtt`, joined as the template joins them."""

        def name(part: Any) -> str:
            if isinstance(part, str):
                return part
            if "Ref" in part:
                return f"<{part['Ref']}>"
            if "Fn::GetAtt" in part:
                return "<{}.{}>".format(*part["Fn::GetAtt"])
            return "".join(name(inner) for inner in part["Fn::Join"][1])

        return name(self.resolve(value))

    @property
    def alarm_topic(self) -> sns.ITopic:
        """The topic every alarm notifies (`plutomi-<stage>-alarms`, created by the email stack),
        referred to by name from the other stacks."""
        if self._alarm_topic is None:
            arn = alarms.alarm_topic_arn(self, self.settings)
            self._alarm_topic = sns.Topic.from_topic_arn(self, "AlarmTopic", arn)
        return self._alarm_topic

    def alarm(self, alarm: cloudwatch.Alarm, *, when_data_stops: bool = False) -> cloudwatch.Alarm:
        """`alarm`, notifying the alarm topic."""
        return alarms.notify(alarm, self.alarm_topic, when_data_stops=when_data_stops)

    def _function_alarms(self, function: str, fn: lambda_.Function) -> None:
        """Every function's errors and throttles, each alarming on the first one in 5 minutes."""
        name = physical_name_of(self.settings, function)
        construct_id = construct_id_of(function)
        for what, metric, threshold in (
            ("errors", fn.metric_errors, alarms.LAMBDA_ERRORS_THRESHOLD),
            ("throttles", fn.metric_throttles, alarms.LAMBDA_THROTTLES_THRESHOLD),
        ):
            self.alarm(
                alarms.at_least(
                    self,
                    f"{construct_id}{what.capitalize()}Alarm",
                    name=f"{name}-{what}",
                    description=f"{function} {what} ({self.settings.stage})",
                    metric=metric(period=alarms.PERIOD, statistic=cloudwatch.Stats.SUM),
                    threshold=threshold,
                )
            )

    @property
    def configuration_set_arn(self) -> str:
        """The configuration set every email goes through (named, so no export)."""
        arn: str = self.format_arn(
            service="ses", resource="configuration-set", resource_name=self.settings.configuration_set_name
        )
        return arn

    def grant_send_email(self, grantee: iam.IGrantable) -> None:
        """SES send through the domain identity and the configuration set (named, so no export)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[
                    self.format_arn(service="ses", resource="identity", resource_name=self.settings.domain),
                    self.configuration_set_arn,
                ],
            )
        )
