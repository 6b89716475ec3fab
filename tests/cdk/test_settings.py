"""Deploy settings from CDK context: the defaults, and context that cannot be deployed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacks.settings import CONTEXT_DEFAULTS, NATS_URL_MOVED, DeploySettings, SettingsError


def settings(**context: object) -> DeploySettings:
    return DeploySettings.from_context(context.get)


def test_defaults_need_no_context() -> None:
    defaults = settings()
    assert (defaults.stage, defaults.domain, defaults.sender) == (
        "staging",
        "plutomi.example",
        "no-reply@plutomi.example",
    )
    assert defaults.mongodb_secret_name == "plutomi/staging/mongodb-url"
    assert defaults.session_secret_name == "plutomi/staging/session-secret"
    assert defaults.nats_url_secret_name == "plutomi/staging/nats-url"
    assert defaults.configuration_set_name == "plutomi-staging"
    assert defaults.mail_from_domain == "mail.plutomi.example"
    assert (defaults.account, defaults.region, defaults.base_url) == (None, None, None)


def test_empty_strings_mean_unset_so_cdk_json_can_list_every_key() -> None:
    assert settings(sender="", nats_url=" ", account="") == settings()


def test_the_sender_follows_the_domain() -> None:
    assert settings(domain="Acme.TEST.").sender == "no-reply@acme.test"
    assert settings(stage="production").mongodb_secret_name == "plutomi/production/mongodb-url"
    assert settings(stage="production").nats_url_secret_name == "plutomi/production/nats-url"


@pytest.mark.parametrize("url", ["nats://user:password@nats.acme.test:4222", "nats://nats.acme.test:4222"])
def test_nats_url_in_the_context_is_refused_with_where_it_goes_now(url: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(nats_url=url)
    assert str(refused.value) == NATS_URL_MOVED
    assert "nats_url_secret_name" in NATS_URL_MOVED and "plutomi/<stage>/nats-url" in NATS_URL_MOVED
    assert url not in str(refused.value)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "prod"}, "'stage' must be one of staging, production"),
        ({"domain": "not a domain"}, "'domain' must be a domain name"),
        ({"domain": "acme.test", "sender": "jobs@elsewhere.test"}, "must be an address at acme.test"),
        ({"sender": "Acme <jobs@mail.plutomi.example>"}, "must be an address at plutomi.example"),
        ({"account": "12345"}, "'account' must be a 12-digit AWS account id"),
        ({"stage": ["staging"]}, "'stage' must be a string"),
    ],
)
def test_context_that_cannot_be_deployed_is_refused_with_a_reason(
    context: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        DeploySettings.from_context(context.get)


def test_cdk_json_declares_the_defaults_and_every_context_key(repo_root: Path) -> None:
    cdk_json = json.loads((repo_root / "cdk.json").read_text())
    context = cdk_json["context"]
    for key, value in CONTEXT_DEFAULTS.items():
        assert context[key] == value
    keys = {key for key in context if not key.startswith("@")}
    assert keys == set(DeploySettings.__dataclass_fields__)
    assert "app.py" in cdk_json["app"]
