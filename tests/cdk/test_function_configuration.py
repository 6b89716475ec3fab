"""A function configured exactly as the stacks configure it can load its settings: the secrets it is
given by name come from Secrets Manager (moto's server stands in for it here)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import boto3
import pytest

from plutomi.config import load_settings
from tests.cdk.synth import Synth, functions_by_handler


def _secrets_client() -> Any:
    make_client: Any = boto3.client
    return make_client(
        "secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"]
    )


def _store(name: str, value: str) -> None:
    client = _secrets_client()
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)


def _configure_as_deployed(monkeypatch: pytest.MonkeyPatch, variables: dict[str, Any]) -> None:
    """The function's environment from the template (values CloudFormation resolves at deploy time,
    such as the API's URL, are left out); MONGODB_URL and PLUTOMI_SESSION_SECRET are not in it."""
    for name in ("MONGODB_URL", "PLUTOMI_SESSION_SECRET", "MONGODB_DATABASE", "PLUTOMI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)


def test_a_deployed_function_reads_its_secrets_by_name(
    staging: Synth, services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, function = functions_by_handler(staging.consumers)["consumers/notifications.handler"]
    variables = function["Environment"]["Variables"]
    mongodb_url = f"mongodb://plutomi:{uuid.uuid4().hex}@db.internal:27017/?replicaSet=rs0"
    session_secret = uuid.uuid4().hex
    _store(variables["MONGODB_URL_SECRET_NAME"], mongodb_url)
    _store(variables["PLUTOMI_SESSION_SECRET_NAME"], session_secret)
    _configure_as_deployed(monkeypatch, variables)

    settings = load_settings()

    assert settings.mongodb_url == mongodb_url
    assert settings.session_secret == session_secret
    assert settings.environment == "staging"
    assert settings.ses_configuration_set == "plutomi-staging"
    assert settings.email_from == "no-reply@plutomi.example"


def test_a_value_in_the_environment_wins_over_a_named_secret(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"plutomi/test/{uuid.uuid4().hex}"
    _store(name, "mongodb://from-the-secret:27017")
    monkeypatch.setenv("MONGODB_URL_SECRET_NAME", name)
    monkeypatch.setenv("MONGODB_URL", "mongodb://from-the-environment:27017")
    assert load_settings().mongodb_url == "mongodb://from-the-environment:27017"


def test_a_secret_that_cannot_be_read_is_named_in_the_error(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"plutomi/test/missing-{uuid.uuid4().hex}"
    monkeypatch.delenv("PLUTOMI_SESSION_SECRET", raising=False)
    monkeypatch.setenv("PLUTOMI_SESSION_SECRET_NAME", missing)
    with pytest.raises(RuntimeError, match=f"PLUTOMI_SESSION_SECRET_NAME names the secret '{missing}'"):
        load_settings()
