"""Synthesises the CDK app for the tests and reads the templates it wrote.

Synthesis boots a Node process (jsii) and costs seconds, so each variant is synthesised once per
session (see conftest.py) and every test reads the same templates.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import cx_api
from aws_cdk.assertions import Template

import app as cdk_app
from stacks import PlutomiStacks
from stacks.packaging import Target

Resources = dict[str, dict[str, Any]]

# Values that look like the real secrets. If the app read them from the environment into a template,
# the no-secrets test finds them.
CANARY_MONGODB_URL = "mongodb+srv://canary-user:canary-password-4f1d@cluster0.canary.mongodb.net/plutomi"
CANARY_SESSION_SECRET = "canary-session-secret-7c2a9e"

PRODUCTION_CONTEXT = {
    "stage": "production",
    "domain": "acme-hiring.test",
    "sender": "Acme Hiring <jobs@acme-hiring.test>",
    "mongodb_secret_name": "acme/prod/mongodb",
    "session_secret_name": "acme/prod/session",
    "nats_url_secret_name": "acme/prod/nats",
    "base_url": "https://api.acme-hiring.test/",
    "bridge_principal": "arn:aws:iam::210987654321:role/plutomi-bridge-task",
    "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "alarm_email": "oncall@acme-hiring.test",
    # As `-c reserved_concurrency=...` passes it: a JSON string.
    "reserved_concurrency": '{"*": 5, "api.public": 20, "consumers.ses_feedback": 3}',
    "account": "123456789012",
    "region": "eu-west-1",
    "api_rate_limit": "250",
    "api_burst_limit": "500",
    "api_tight_rate_limit": "2.5",
    "api_tight_burst_limit": "4",
    # As `-c malware_scanning=true` passes it: a string.
    "malware_scanning": "true",
}


# How CDK describes the function of its custom-resource provider framework.
PROVIDER_FRAMEWORK_DESCRIPTION = "AWS CDK resource provider framework"


@dataclass(frozen=True)
class Synth:
    stacks: PlutomiStacks
    assembly_dir: Path
    email: Template
    api: Template
    scheduling: Template
    consumers: Template
    migrations: Template
    documents: Template
    warnings: tuple[str, ...]
    errors: tuple[str, ...] = ()

    def templates(self) -> dict[str, Template]:
        return {
            "email": self.email,
            "api": self.api,
            "scheduling": self.scheduling,
            "consumers": self.consumers,
            "migrations": self.migrations,
            "documents": self.documents,
        }

    def asset_dir(self, s3_key: object) -> Path:
        """The staged directory of a zip asset, from the S3Key the template points at."""
        assert isinstance(s3_key, str) and s3_key.endswith(".zip"), s3_key
        path = self.assembly_dir / f"asset.{s3_key.removesuffix('.zip')}"
        assert path.is_dir(), f"{path} is not in the cloud assembly"
        return path


# Nothing of AWS's is needed to synthesise: the tests synthesise without any of these.
AWS_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
    "CDK_CONTEXT_JSON",
    "CDK_OUTDIR",
)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in AWS_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def synthesize(
    outdir: Path,
    context: Mapping[str, Any],
    *,
    built_dependencies: Path,
    env: Mapping[str, str] | None = None,
    lambda_target: Target | None = None,
) -> Synth:
    """The app as app.py builds it (cdk.json's context, then `context`), synthesised into `outdir`,
    with the Lambda assets (stacks.packaging's build) looked for in `built_dependencies` instead of
    build/lambda, and taken as current when built for `lambda_target` (default: the functions'
    runtime)."""
    with pytest.MonkeyPatch.context() as patch, environment(env or {}):
        patch.setattr("stacks.base.LAMBDA_BUILD_DIR", built_dependencies)
        if lambda_target is not None:
            patch.setattr("stacks.base.LAMBDA_TARGET", lambda_target)
        app, stacks = cdk_app.create_app(outdir=str(outdir), context=context)
        assembly = app.synth()

    def messages(level: cx_api.SynthesisMessageLevel) -> tuple[str, ...]:
        return tuple(
            str(message.entry.data)
            for artifact in assembly.stacks
            for message in artifact.messages
            if message.level == level
        )

    return Synth(
        stacks=stacks,
        assembly_dir=Path(assembly.directory),
        email=Template.from_stack(stacks.email),
        api=Template.from_stack(stacks.api),
        scheduling=Template.from_stack(stacks.scheduling),
        consumers=Template.from_stack(stacks.consumers),
        migrations=Template.from_stack(stacks.migrations),
        documents=Template.from_stack(stacks.documents),
        warnings=messages(cx_api.SynthesisMessageLevel.WARNING),
        errors=messages(cx_api.SynthesisMessageLevel.ERROR),
    )


_JSON: dict[int, dict[str, Any]] = {}


def template_json(template: Template) -> dict[str, Any]:
    """The template as a dict, fetched from the jsii process once per template (each fetch costs)."""
    if id(template) not in _JSON:
        _JSON[id(template)] = dict(template.to_json())
    return _JSON[id(template)]


def resources(template: Template, resource_type: str) -> Resources:
    found = template_json(template).get("Resources", {})
    return {key: value for key, value in found.items() if value["Type"] == resource_type}


def plutomi_functions(template: Template) -> Resources:
    """Every Lambda function that runs a Plutomi handler: all of them but the one CDK's custom-resource
    provider framework (Node.js, no layers) adds for the migrations resource."""
    return {
        logical_id: function
        for logical_id, function in resources(template, "AWS::Lambda::Function").items()
        if not function["Properties"]["Description"].startswith(PROVIDER_FRAMEWORK_DESCRIPTION)
    }


def only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, resource["Properties"]


def queue_and_dead_letters(template: Template) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    """(queue id, queue props, DLQ id, DLQ props) of the template's two queues: the queue is the one
    with a redrive policy."""
    queues = resources(template, "AWS::SQS::Queue")
    assert len(queues) == 2, sorted(queues)
    (queue_id,) = [key for key, value in queues.items() if "RedrivePolicy" in value["Properties"]]
    (dlq_id,) = [key for key in queues if key != queue_id]
    return queue_id, queues[queue_id]["Properties"], dlq_id, queues[dlq_id]["Properties"]


def functions_by_handler(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    """Handler string -> (logical id, properties) of every Plutomi function in the template."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in plutomi_functions(template).items():
        handler = resource["Properties"]["Handler"]
        assert handler not in found, f"two functions run {handler}"
        found[handler] = (logical_id, resource["Properties"])
    return found


def get_att_arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def as_json(template: Template) -> str:
    return json.dumps(template_json(template), sort_keys=True)
