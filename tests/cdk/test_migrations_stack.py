"""Migrations on deploy: a custom resource runs `deploy.migrate` (the CLI's `plutomi migrate`) in the
stack every other stack depends on, again whenever the plutomi layer changes."""

from __future__ import annotations

import json
from typing import Any

from stacks.migrations import MIGRATE, MIGRATIONS_RESOURCE_TYPE
from tests.cdk.synth import (
    PRODUCTION_CONTEXT,
    PROVIDER_FRAMEWORK_DESCRIPTION,
    Synth,
    functions_by_handler,
    get_att_arn,
    only,
    resources,
)

MIGRATE_HANDLER = "deploy/migrate.handler"


def _framework(synth: Synth) -> dict[str, Any]:
    framework: dict[str, Any]
    (framework,) = [
        function["Properties"]
        for function in resources(synth.migrations, "AWS::Lambda::Function").values()
        if function["Properties"]["Description"].startswith(PROVIDER_FRAMEWORK_DESCRIPTION)
    ]
    return framework


def test_the_custom_resource_runs_the_migrate_function_through_the_provider_framework(
    staging: Synth,
) -> None:
    migrate_id, _ = functions_by_handler(staging.migrations)[MIGRATE_HANDLER]
    (framework_id,) = [
        logical_id
        for logical_id, function in resources(staging.migrations, "AWS::Lambda::Function").items()
        if function["Properties"]["Description"].startswith(PROVIDER_FRAMEWORK_DESCRIPTION)
    ]
    _, migrations = only(staging.migrations, MIGRATIONS_RESOURCE_TYPE)
    assert migrations["ServiceToken"] == get_att_arn(framework_id)
    assert _framework(staging)["Environment"]["Variables"]["USER_ON_EVENT_FUNCTION_ARN"] == get_att_arn(
        migrate_id
    )
    # Synchronous: no is-complete handler, so no waiter state machine.
    assert resources(staging.migrations, "AWS::StepFunctions::StateMachine") == {}


def test_the_migrate_function_finishes_before_the_framework_gives_up(staging: Synth) -> None:
    _, migrate = functions_by_handler(staging.migrations)[MIGRATE_HANDLER]
    assert migrate["Timeout"] == MIGRATE.timeout_seconds
    assert migrate["Timeout"] < _framework(staging)["Timeout"] <= 15 * 60


def test_it_migrates_again_whenever_the_plutomi_layer_changes(staging: Synth) -> None:
    """The property is the layer's asset, named by the hash of its content: a changed index, stream or
    migration changes the layer, so CloudFormation updates the resource and the handler migrates."""
    _, migrations = only(staging.migrations, MIGRATIONS_RESOURCE_TYPE)
    (layer,) = [
        layer["Properties"]
        for layer in resources(staging.migrations, "AWS::Lambda::LayerVersion").values()
        if "plutomi package" in layer["Properties"]["Description"]
    ]
    assert migrations["PlutomiLayerAsset"] == layer["Content"]["S3Key"]
    assert set(migrations) == {"ServiceToken", "PlutomiLayerAsset"}


def test_every_other_stack_deploys_after_the_migrations(staging: Synth) -> None:
    manifest = json.loads((staging.assembly_dir / "manifest.json").read_text())
    migrations = staging.stacks.migrations.stack_name
    stacks = {name for name, artifact in manifest["artifacts"].items() if artifact["type"].endswith(":stack")}
    assert not stacks & set(manifest["artifacts"][migrations]["dependencies"]), "migrations come first"
    for stack in (
        staging.stacks.email,
        staging.stacks.api,
        staging.stacks.scheduling,
        staging.stacks.consumers,
    ):
        assert migrations in manifest["artifacts"][stack.stack_name]["dependencies"], stack.stack_name


def test_the_framework_logs_where_its_retention_is_set(staging: Synth, production: Synth) -> None:
    for synth, days in ((staging, 14), (production, 90)):
        log_group_id = _framework(synth)["LoggingConfig"]["LogGroup"]["Ref"]
        log_group = resources(synth.migrations, "AWS::Logs::LogGroup")[log_group_id]
        assert log_group["Properties"]["RetentionInDays"] == days


def test_in_production_the_migrate_function_reads_the_configured_nats_secret(production: Synth) -> None:
    _, migrate = functions_by_handler(production.migrations)[MIGRATE_HANDLER]
    variables = migrate["Environment"]["Variables"]
    assert "NATS_URL" not in variables
    assert variables["NATS_URL_SECRET_NAME"] == PRODUCTION_CONTEXT["nats_url_secret_name"]
