"""What holds for the whole app: synth from defaults without AWS, the layers, the runtime, the
configuration every function gets, and no secret values anywhere."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from plutomi.config import DEFAULT_SESSION_SECRET
from plutomi.topology import module_of
from stacks import packaging
from tests.cdk.host_build import HostBuild
from tests.cdk.synth import (
    CANARY_MONGODB_URL,
    CANARY_SESSION_SECRET,
    Synth,
    as_json,
    only,
    plutomi_functions,
    resources,
    synthesize,
    template_json,
)
from tests.support.secret_values import secret_looking_values

SECRET_LOOKING = [
    re.compile(r"mongodb(\+srv)?://", re.IGNORECASE),
    re.compile(r"\{\{resolve:(secretsmanager|ssm-secure)", re.IGNORECASE),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"whsec_[A-Za-z0-9]"),
    re.compile(r"canary", re.IGNORECASE),
]


def _all_functions(synth: Synth) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack, logical id, properties) of every function in the app."""
    return [
        (name, logical_id, function["Properties"])
        for name, template in synth.templates().items()
        for logical_id, function in plutomi_functions(template).items()
    ]


def test_the_app_synthesises_six_environment_agnostic_stacks_from_the_defaults(staging: Synth) -> None:
    manifest = json.loads((staging.assembly_dir / "manifest.json").read_text())
    stacks = {
        name: artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert sorted(stacks) == sorted(
        f"plutomi-staging-{part}"
        for part in ("email", "api", "scheduling", "consumers", "migrations", "documents")
    )
    for name, artifact in stacks.items():
        assert artifact["environment"] == "aws://unknown-account/unknown-region", name
        assert (staging.assembly_dir / f"{name}.template.json").is_file()
    assert staging.stacks.settings.sender == "no-reply@plutomi.example"
    assert not staging.stacks.email.termination_protection


def test_every_function_runs_python_3_13_on_arm64_with_powertools(staging: Synth, production: Synth) -> None:
    functions = _all_functions(staging)
    assert len(functions) >= 17
    for _, _, props in _all_functions(production):
        assert props["Runtime"] == "python3.13"
    for stack, logical_id, props in functions:
        assert props["Runtime"] == "python3.13", (stack, logical_id)
        assert props["Architectures"] == ["arm64"], (stack, logical_id)
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "plutomi"
        assert props["Environment"]["Variables"]["PLUTOMI_ENV"] == "staging"
        assert "LogGroup" in props["LoggingConfig"]


def test_every_function_has_the_plutomi_layer_and_the_dependencies_layer(staging: Synth) -> None:
    for name, template in staging.templates().items():
        layers = resources(template, "AWS::Lambda::LayerVersion")
        plutomi = [
            key for key, layer in layers.items() if "plutomi package" in layer["Properties"]["Description"]
        ]
        dependencies = [key for key in layers if key not in plutomi]
        assert len(plutomi) == 1 and len(dependencies) == 1, (name, sorted(layers))
        for logical_id, function in plutomi_functions(template).items():
            refs = function["Properties"]["Layers"]
            assert sorted(refs, key=str) == sorted(
                [{"Ref": plutomi[0]}, {"Ref": dependencies[0]}], key=str
            ), logical_id
        for layer in layers.values():
            assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
            assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_the_plutomi_layer_is_layers_plutomi_as_it_sits(staging: Synth, repo_root: Path) -> None:
    _, layer = next(
        (key, value["Properties"])
        for key, value in resources(staging.api, "AWS::Lambda::LayerVersion").items()
        if "plutomi package" in value["Properties"]["Description"]
    )
    staged = staging.asset_dir(layer["Content"]["S3Key"])
    # Lambda mounts the layer at /opt, so python/plutomi becomes /opt/python/plutomi.
    for module in ("__init__.py", "topology.py", "bootstrap.py", "config.py"):
        assert (staged / "python" / "plutomi" / module).is_file(), module
    source = repo_root / "layers" / "plutomi" / "python" / "plutomi" / "topology.py"
    assert (staged / "python" / "plutomi" / "topology.py").read_text() == source.read_text()
    assert not list(staged.rglob("__pycache__"))


def test_without_a_build_every_stack_has_an_error_so_cdk_deploy_refuses(staging: Synth) -> None:
    _, layer = next(
        (key, value["Properties"])
        for key, value in resources(staging.api, "AWS::Lambda::LayerVersion").items()
        if "plutomi package" not in value["Properties"]["Description"]
    )
    assert "NOT BUILT" in layer["Description"]
    staged = staging.asset_dir(layer["Content"]["S3Key"])
    assert (staged / "requirements.txt").is_file()
    assert len(staging.errors) == len(staging.templates())
    for error in staging.errors:
        assert error.startswith("The Lambda assets in build/lambda are not current (functions: not built")
        assert "dependencies-layer: not built" in error and "make layers" in error


def test_a_stale_build_is_an_error_naming_what_changed(
    tmp_path: Path, host_build: HostBuild, staging: Synth
) -> None:
    """A build left from other sources (stamps as a build of other code would leave) is refused."""
    for asset in packaging.ASSETS:
        (tmp_path / asset).mkdir()
        stamp = packaging.read_stamp(host_build.build_dir, asset)
        assert stamp is not None
        if asset == packaging.FUNCTIONS_ASSET:
            stamp = dataclasses.replace(stamp, sources_sha256="0" * 64)
        packaging.write_stamp(tmp_path, stamp)
    assert packaging.stale_assets(tmp_path, host_build.target) == {
        "functions": "stale (sources_sha256 changed)"
    }
    other_python = dataclasses.replace(host_build.target, python_version="3.12")
    assert set(packaging.stale_assets(host_build.build_dir, other_python)) == set(packaging.ASSETS)
    (tmp_path / packaging.DEPENDENCIES_LAYER_ASSET).rmdir()  # a half build: a stamp, no asset
    assert packaging.stale_assets(tmp_path, host_build.target)["dependencies-layer"].startswith("not built")
    synth = synthesize(tmp_path / "cdk.out", {}, built_dependencies=tmp_path, lambda_target=host_build.target)
    assert synth.errors and all(
        "functions: stale (sources_sha256 changed); dependencies-layer: not built" in error
        for error in synth.errors
    )


def test_a_current_build_is_deployed_as_built_with_its_bytecode(
    production: Synth, host_build: HostBuild
) -> None:
    assert production.errors == ()
    layers = resources(production.api, "AWS::Lambda::LayerVersion").values()
    dependencies = next(
        layer["Properties"] for layer in layers if "plutomi package" not in layer["Properties"]["Description"]
    )
    plutomi = next(
        layer["Properties"] for layer in layers if "plutomi package" in layer["Properties"]["Description"]
    )
    assert "build/lambda" in dependencies["Description"]
    tag = f"cpython-{host_build.target.python_version.replace('.', '')}"
    staged = production.asset_dir(dependencies["Content"]["S3Key"])
    assert (staged / "python" / "pydantic" / "__pycache__" / f"main.{tag}.pyc").is_file()
    staged = production.asset_dir(plutomi["Content"]["S3Key"])
    assert (staged / "python" / "plutomi" / "__pycache__" / f"topology.{tag}.pyc").is_file()
    for _, _, props in _all_functions(production):
        staged = production.asset_dir(props["Code"]["S3Key"])
        module = props["Handler"].rpartition(".")[0]
        compiled = staged / Path(module).parent / "__pycache__" / f"{Path(module).name}.{tag}.pyc"
        assert compiled.is_file(), compiled


def test_function_code_is_the_functions_directory_with_every_handler_module(
    staging: Synth, repo_root: Path
) -> None:
    for stack, logical_id, props in _all_functions(staging):
        staged = staging.asset_dir(props["Code"]["S3Key"])
        module, _, attribute = props["Handler"].rpartition(".")
        assert attribute == "handler", (stack, logical_id)
        assert (staged / f"{module}.py").is_file(), f"{stack}/{logical_id}: {module}.py not in the code asset"
        function = module.replace("/", ".")
        assert (repo_root / Path(*module_of(function).split("."))).with_suffix(".py").is_file()
        assert not list(staged.rglob("*.pyc"))


def test_no_secret_values_in_any_template(staging: Synth, production: Synth) -> None:
    for synth in (staging, production):
        for name, template in synth.templates().items():
            text = as_json(template)
            assert secret_looking_values(template_json(template), name) == []
            for pattern in SECRET_LOOKING:
                assert not pattern.search(text), f"{name}: {pattern.pattern} in the template"
            assert CANARY_MONGODB_URL not in text and CANARY_SESSION_SECRET not in text
            assert DEFAULT_SESSION_SECRET not in text
            assert resources(template, "AWS::SecretsManager::Secret") == {}, (
                "the app never creates secret values"
            )
        for stack, logical_id, props in _all_functions(synth):
            variables = props["Environment"]["Variables"]
            for secret in ("MONGODB_URL", "PLUTOMI_SESSION_SECRET", "NATS_URL"):
                assert secret not in variables, (stack, logical_id, secret)


def test_the_secret_guard_catches_what_it_should() -> None:
    """The guard above can fail: credentials in a URL, and literals under secret-like names, in a
    Lambda function's variables and in Kubernetes env entries and ConfigMaps alike."""
    leaky: dict[str, Any] = {
        "Variables": {
            "NATS_URL": "nats://u:p@h",
            "EXTRA": "https://token@example.test/hook",
            "SMTP_PASSWORD": "hunter2",
            "NATS_URL_SECRET_NAME": "plutomi/staging/nats-url",
            "NATS_URL_PLAIN": "nats://nats:4222",
        },
        "env": [{"name": "API_TOKEN", "value": "abc"}, {"name": "X", "valueFrom": {"secretKeyRef": {}}}],
        "data": {"SESSION_SECRET": "s3cr3t", "automountServiceAccountToken": False},
    }
    found = secret_looking_values(leaky, "leaky")
    assert sorted(found) == [
        "leaky.Variables.EXTRA: a URL with credentials",
        "leaky.Variables.NATS_URL: a URL with credentials",
        "leaky.Variables.SMTP_PASSWORD: a literal value for a secret-like name",
        "leaky.data.SESSION_SECRET: a literal value for a secret-like name",
        "leaky.env[0].API_TOKEN: a literal value for a secret-like name",
    ]
    assert not any("hunter2" in place or "u:p" in place for place in found), "never the value itself"


def test_functions_get_the_secret_names_and_may_read_those_secrets(staging: Synth, production: Synth) -> None:
    for synth, mongodb, session, nats in (
        (
            staging,
            "plutomi/staging/mongodb-url",
            "plutomi/staging/session-secret",
            "plutomi/staging/nats-url",
        ),
        (production, "acme/prod/mongodb", "acme/prod/session", "acme/prod/nats"),
    ):
        for name, template in synth.templates().items():
            policies = [p["Properties"] for p in resources(template, "AWS::IAM::Policy").values()]
            for _, logical_id, props in [f for f in _all_functions(synth) if f[0] == name]:
                variables = props["Environment"]["Variables"]
                assert variables["MONGODB_URL_SECRET_NAME"] == mongodb
                assert variables["PLUTOMI_SESSION_SECRET_NAME"] == session
                assert variables["NATS_URL_SECRET_NAME"] == nats
                role = {"Ref": props["Role"]["Fn::GetAtt"][0]}
                statements = [
                    statement
                    for policy in policies
                    if role in policy["Roles"]
                    for statement in policy["PolicyDocument"]["Statement"]
                ]
                readable = json.dumps(
                    [s["Resource"] for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
                )
                assert f":secret:{mongodb}-??????" in readable, logical_id
                assert f":secret:{session}-??????" in readable, logical_id
                assert f":secret:{nats}-??????" in readable, logical_id
                # plutomi.config reads them in one call, an action with no resource-level permissions
                assert {
                    "Action": "secretsmanager:BatchGetSecretValue",
                    "Effect": "Allow",
                    "Resource": "*",
                } in statements, logical_id


def test_every_function_uses_the_configuration_set_and_the_sender(staging: Synth, production: Synth) -> None:
    for synth in (staging, production):
        _, config_set = only(synth.email, "AWS::SES::ConfigurationSet")
        for stack, logical_id, props in _all_functions(synth):
            variables = props["Environment"]["Variables"]
            assert variables["PLUTOMI_SES_CONFIGURATION_SET"] == config_set["Name"], (stack, logical_id)
            assert variables["PLUTOMI_EMAIL_FROM"] == synth.stacks.settings.sender


def test_production_is_pinned_protected_and_configured_from_context(production: Synth) -> None:
    stacks = production.stacks
    for stack in (
        stacks.email,
        stacks.api,
        stacks.scheduling,
        stacks.consumers,
        stacks.migrations,
        stacks.documents,
    ):
        assert stack.stack_name.startswith("plutomi-production-")
        assert stack.termination_protection
        assert (stack.account, stack.region) == ("123456789012", "eu-west-1")
    _, config_set = only(production.email, "AWS::SES::ConfigurationSet")
    assert config_set["Name"] == "plutomi-production"
    for _, _, props in _all_functions(production):
        variables = props["Environment"]["Variables"]
        assert variables["PLUTOMI_EMAIL_FROM"] == "Acme Hiring <jobs@acme-hiring.test>"
        assert variables["PLUTOMI_ENV"] == "production"
    for group in resources(production.api, "AWS::Logs::LogGroup").values():
        assert group["DeletionPolicy"] == "Retain"
        assert group["Properties"]["RetentionInDays"] == 90
