"""Deploy settings from CDK context: the defaults, and context that cannot be deployed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plutomi.topology import database_functions
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


def test_api_throttling_defaults_and_context_values() -> None:
    defaults = settings()
    assert (defaults.api_rate_limit, defaults.api_burst_limit) == (100.0, 200)
    assert (defaults.api_tight_rate_limit, defaults.api_tight_burst_limit) == (5.0, 10)
    # From `-c key=value` (strings) or cdk.json (numbers) alike; "" is unset.
    given = settings(
        api_rate_limit="12.5", api_burst_limit=30, api_tight_rate_limit=1, api_tight_burst_limit=""
    )
    assert (given.api_rate_limit, given.api_burst_limit) == (12.5, 30)
    assert (given.api_tight_rate_limit, given.api_tight_burst_limit) == (1.0, 10)
    assert isinstance(given.api_burst_limit, int)


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
        ({"alarm_email": "ops"}, "'alarm_email' must be one email address"),
        ({"alarm_email": "a@acme.test, b@acme.test"}, "'alarm_email' must be one email address"),
        ({"reserved_concurrency": "0"}, "at least 1 \\(0 would stop the function\\)"),
        ({"reserved_concurrency": "-3"}, "must be a whole number of at least 1"),
        ({"reserved_concurrency": "lots"}, "must be a whole number of at least 1"),
        ({"reserved_concurrency": {"api.orgs": True}}, "must be a whole number of at least 1"),
        ({"reserved_concurrency": {"api.orgs": 2.5}}, "must be a whole number of at least 1"),
        ({"reserved_concurrency": '{"api.orgs": 5'}, "'reserved_concurrency' is not valid JSON"),
        ({"reserved_concurrency": '{"api.nothing": 5}'}, "'api.nothing', which is no function"),
        ({"reserved_concurrency": {"api.docs": 5}}, "'api.docs', which opens no MongoDB pool"),
        (
            {"reserved_concurrency": "1"},
            "consumers.(ses_feedback|malware_scan) must be at least 2: its SQS event",
        ),
        (
            {"reserved_concurrency": '{"*": 5, "consumers.malware_scan": 1}'},
            "consumers.malware_scan must be at least 2: its SQS event source",
        ),
        ({"api_rate_limit": "fast"}, "'api_rate_limit' must be a positive number; got 'fast'"),
        ({"api_rate_limit": "0"}, "'api_rate_limit' must be a positive number"),
        ({"api_tight_rate_limit": -1}, "'api_tight_rate_limit' must be a positive number"),
        ({"api_tight_rate_limit": "nan"}, "'api_tight_rate_limit' must be a positive number"),
        ({"api_burst_limit": True}, "'api_burst_limit' must be a positive number"),
        ({"api_burst_limit": "2.5"}, "'api_burst_limit' must be a whole number; got '2.5'"),
        ({"api_tight_burst_limit": "inf"}, "'api_tight_burst_limit' must be a positive number"),
    ],
)
def test_context_that_cannot_be_deployed_is_refused_with_a_reason(
    context: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        DeploySettings.from_context(context.get)


def test_reserved_concurrency_is_for_the_functions_with_a_mongodb_pool() -> None:
    assert settings().reserved_concurrency == {}
    every = settings(reserved_concurrency=4).reserved_concurrency
    assert every == {function: 4 for function in database_functions()}
    assert "api.docs" not in every  # it opens no pool, so it needs no bound
    assert settings(reserved_concurrency=" 4 ").reserved_concurrency == every
    # A JSON object as `-c` passes it, or an object in cdk.json: named functions, `*` for the rest.
    mixed = settings(reserved_concurrency='{"*": 4, "api.public": 20}')
    assert mixed.reserved_concurrency_of("api.public") == 20
    assert mixed.reserved_concurrency_of("api.orgs") == 4
    assert mixed.reserved_concurrency_of("api.docs") is None
    only = settings(reserved_concurrency={"consumers.webhooks": 2})
    assert only.reserved_concurrency == {"consumers.webhooks": 2}
    assert only.reserved_concurrency_of("api.orgs") is None


def test_malware_scanning_is_off_unless_the_context_turns_it_on() -> None:
    assert settings().malware_scanning is False
    assert settings(malware_scanning="").malware_scanning is False
    # `-c malware_scanning=true` passes a string; cdk.json may hold a boolean.
    assert settings(malware_scanning="true").malware_scanning is True
    assert settings(malware_scanning=" TRUE ").malware_scanning is True
    assert settings(malware_scanning=True).malware_scanning is True
    assert settings(malware_scanning="false").malware_scanning is False
    for wrong in ("yes", "1", 1):
        with pytest.raises(SettingsError, match="'malware_scanning' must be true or false"):
            settings(malware_scanning=wrong)


def test_the_alarm_email_is_optional() -> None:
    assert settings().alarm_email is None
    assert settings(alarm_email=" oncall@acme.test ").alarm_email == "oncall@acme.test"


def test_cdk_json_declares_the_defaults_and_every_context_key(repo_root: Path) -> None:
    cdk_json = json.loads((repo_root / "cdk.json").read_text())
    context = cdk_json["context"]
    for key, value in CONTEXT_DEFAULTS.items():
        assert context[key] == value
    keys = {key for key in context if not key.startswith("@")}
    assert keys == set(DeploySettings.__dataclass_fields__)
    assert "app.py" in cdk_json["app"]


def test_every_setting_plutomi_config_reads_from_a_secret_has_a_secret_name() -> None:
    from plutomi.config import SECRET_NAME_VARIABLES

    assert set(settings().secret_names) == set(SECRET_NAME_VARIABLES)
