"""A function configured exactly as the stacks configure it can load its settings: the secrets it is
given by name (MONGODB_URL, PLUTOMI_SESSION_SECRET, NATS_URL) come from Secrets Manager, in one
BatchGetSecretValue call (moto's server stands in for it here)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import boto3
import pytest

from plutomi.config import load_settings
from plutomi.runtime.embedded import free_port
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
    such as the API's URL, are left out); MONGODB_URL, PLUTOMI_SESSION_SECRET and NATS_URL are not in it."""
    for name in ("MONGODB_URL", "PLUTOMI_SESSION_SECRET", "NATS_URL", "MONGODB_DATABASE", "PLUTOMI_BASE_URL"):
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
    nats_url = f"nats://plutomi:{uuid.uuid4().hex}@nats.internal:4222"
    _store(variables["MONGODB_URL_SECRET_NAME"], mongodb_url)
    _store(variables["PLUTOMI_SESSION_SECRET_NAME"], session_secret)
    _store(variables["NATS_URL_SECRET_NAME"], f"{nats_url}\n")  # as `--secret-string "$(cat file)"` may
    _configure_as_deployed(monkeypatch, variables)
    assert "NATS_URL" not in os.environ

    settings = load_settings()

    assert settings.mongodb_url == mongodb_url
    assert settings.session_secret == session_secret
    assert settings.nats_url == nats_url
    assert settings.external_services >= {"mongodb", "nats"}
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


def test_an_unreadable_nats_secret_is_named_even_when_the_others_are_read(
    staging: Synth, services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, function = functions_by_handler(staging.api)["api/orgs.handler"]
    variables = function["Environment"]["Variables"]
    _store(variables["MONGODB_URL_SECRET_NAME"], "mongodb://db.internal:27017/?replicaSet=rs0")
    _store(variables["PLUTOMI_SESSION_SECRET_NAME"], uuid.uuid4().hex)
    missing = f"plutomi/test/missing-nats-{uuid.uuid4().hex}"
    _configure_as_deployed(monkeypatch, variables | {"NATS_URL_SECRET_NAME": missing})

    with pytest.raises(RuntimeError) as unreadable:
        load_settings()

    assert str(unreadable.value) == (
        f"NATS_URL_SECRET_NAME names the secret '{missing}', which cannot be read: "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret."
    )


def test_every_named_secret_is_read_in_one_call(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One round trip at cold start for all of them; a setting the environment gives is not asked for."""
    names = {variable: f"plutomi/test/{uuid.uuid4().hex}" for variable in ("MONGODB_URL", "NATS_URL")}
    for variable, name in names.items():
        _store(name, f"{variable.lower()}-from-its-secret")
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv(f"{variable}_SECRET_NAME", name)
    monkeypatch.setenv("PLUTOMI_SESSION_SECRET_NAME", "plutomi/test/never-asked-for")
    monkeypatch.setenv("PLUTOMI_SESSION_SECRET", "from-the-environment")
    operations: list[str] = []
    make_client: Any = boto3.client

    def recording_client(*args: Any, **kwargs: Any) -> Any:
        client = make_client(*args, **kwargs)
        client.meta.events.register(
            "before-call.secretsmanager", lambda model, **_: operations.append(model.name)
        )
        return client

    monkeypatch.setattr(boto3, "client", recording_client)

    settings = load_settings()

    assert operations == ["BatchGetSecretValue"]
    assert (settings.mongodb_url, settings.nats_url) == (
        "mongodb_url-from-its-secret",
        "nats_url-from-its-secret",
    )
    assert settings.session_secret == "from-the-environment"


def test_secrets_manager_out_of_reach_fails_naming_every_secret_asked_for(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for variable in ("MONGODB_URL", "NATS_URL"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv(f"{variable}_SECRET_NAME", f"plutomi/test/{variable.lower()}")

    with pytest.raises(RuntimeError) as unreadable:
        load_settings()

    for variable in ("MONGODB_URL", "NATS_URL"):
        assert (
            f"{variable}_SECRET_NAME names the secret 'plutomi/test/{variable.lower()}', "
            "which cannot be read: Could not connect to the endpoint URL"
        ) in str(unreadable.value)
