"""What every Plutomi stack shares: the two layers, the secrets, and how a handler becomes a Lambda.

A function named `api.orgs` (see `plutomi.topology`) is the handler `api/orgs.handler` in the
`functions/` code asset; the `plutomi` package comes from the `plutomi` layer (`layers/plutomi`, whose
`python/` directory Lambda puts on the path as `/opt/python`) and third-party packages from the
dependencies layer.

Each stack creates its own layer versions from the same two assets (uploaded once, by content hash)
rather than importing them from a shared stack: a layer version exported across stacks changes ARN on
every code change, and CloudFormation refuses to update an export another stack still imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from stacks.settings import DeploySettings

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = ROOT / "functions"
PLUTOMI_LAYER_DIR = ROOT / "layers" / "plutomi"
DEPENDENCIES_REQUIREMENTS_DIR = ROOT / "layers" / "dependencies"
# `make layers` installs layers/dependencies/requirements.txt here, for Python 3.11 on arm64.
BUILT_DEPENDENCIES_DIR = ROOT / "build" / "dependencies-layer"

RUNTIME = lambda_.Runtime.PYTHON_3_11
# arm64 (Graviton): about 20% cheaper per GB-second than x86_64, and at least as fast for this code.
ARCHITECTURE = lambda_.Architecture.ARM_64
SERVICE_NAME = "plutomi"
# As cdk-nag names the managed policy every function's role gets.
BASIC_EXECUTION_POLICY = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache"]

# The environment variables through which the functions find their secrets (plutomi.config reads
# the secret named by each at cold start). The values themselves never reach a template.
MONGODB_URL_SECRET_NAME_ENV = "MONGODB_URL_SECRET_NAME"  # noqa: S105 - a variable name
SESSION_SECRET_NAME_ENV = "PLUTOMI_SESSION_SECRET_NAME"  # noqa: S105 - a variable name

DEPENDENCIES_NOT_BUILT = (
    "The dependencies layer holds only layers/dependencies/requirements.txt, not the packages: run "
    "`make layers` (builds build/dependencies-layer for Python 3.11 on arm64) before `cdk deploy`, "
    "or every function fails to import its dependencies."
)

NATS_URL_UNSET = (
    "Context nats_url is not set: the functions would look for NATS on 127.0.0.1. Pass "
    "-c nats_url=nats://... (the JetStream the bridge and relay use)."
)


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
        self.plutomi_layer = lambda_.LayerVersion(
            self,
            "PlutomiLayer",
            code=lambda_.Code.from_asset(str(PLUTOMI_LAYER_DIR), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="the plutomi package (layers/plutomi/python/plutomi -> /opt/python/plutomi)",
        )
        self.dependencies_layer = self._dependencies_layer()
        self.mongodb_secret = secretsmanager.Secret.from_secret_name_v2(
            self, "MongoDbUrlSecret", settings.mongodb_secret_name
        )
        self.session_secret = secretsmanager.Secret.from_secret_name_v2(
            self, "SessionSecret", settings.session_secret_name
        )
        self.functions: dict[str, lambda_.Function] = {}
        if not settings.nats_url:
            cdk.Annotations.of(self).add_warning_v2("plutomi:nats-url-unset", NATS_URL_UNSET)

    def _dependencies_layer(self) -> lambda_.LayerVersion:
        built = BUILT_DEPENDENCIES_DIR / "python"
        if built.is_dir() and any(built.iterdir()):
            source, description = BUILT_DEPENDENCIES_DIR, "third-party packages (build/dependencies-layer)"
        else:
            source, description = (
                DEPENDENCIES_REQUIREMENTS_DIR,
                "NOT BUILT: requirements.txt only; run make layers",
            )
        layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(str(source), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
        )
        if source == DEPENDENCIES_REQUIREMENTS_DIR:
            cdk.Annotations.of(layer).add_warning_v2(
                "plutomi:dependencies-layer-not-built", DEPENDENCIES_NOT_BUILT
            )
        return layer

    def function_environment(self) -> dict[str, str]:
        """What every function is configured with (plutomi.config reads these)."""
        settings = self.settings
        env = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "PLUTOMI_ENV": settings.stage,
            "PLUTOMI_EMAIL_FROM": settings.sender,
            "PLUTOMI_SES_CONFIGURATION_SET": settings.configuration_set_name,
            MONGODB_URL_SECRET_NAME_ENV: settings.mongodb_secret_name,
            SESSION_SECRET_NAME_ENV: settings.session_secret_name,
        }
        if settings.nats_url:
            env["NATS_URL"] = settings.nats_url
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
            # Only the path is needed: the code asset is the whole functions/ directory.
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=ASSET_EXCLUDES),
            layers=[self.plutomi_layer, self.dependencies_layer],
            timeout=timeout,
            memory_size=memory_mb,
            environment=self.function_environment() | (environment or {}),
            log_group=log_group,
            retry_attempts=retry_attempts,
        )
        acknowledge_nag(
            fn, "AwsSolutions-L1", "the runtime is pinned: the dependencies layer is built for it"
        )
        acknowledge_nag(
            fn,
            f"AwsSolutions-IAM4[Policy::{BASIC_EXECUTION_POLICY}]",
            "AWSLambdaBasicExecutionRole only writes the function's own logs",
        )
        self.mongodb_secret.grant_read(fn)
        self.session_secret.grant_read(fn)
        self.functions[function] = fn
        return fn

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
