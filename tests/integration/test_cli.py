"""Every command finds the local services the way `plutomi dev` starts them: from the same settings
(`PLUTOMI_NATS_PORT`, `PLUTOMI_MONGODB_PORT`, `PLUTOMI_AWS_PORT`, or the URLs), and says so in one
line when they are not there."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from plutomi import bootstrap
from plutomi.config import load_settings
from plutomi.domain.emails import OutgoingEmail
from plutomi.runtime.dev import embedded_services
from plutomi.runtime.embedded import free_port
from tests.conftest import unique_email
from tests.support.cli import run_plutomi

ROOT = Path(__file__).resolve().parents[2]
SERVICE_URLS = (
    "NATS_URL",
    "MONGODB_URL",
    "AWS_ENDPOINT_URL",
    "MONGODB_URL_SECRET_NAME",
    "NATS_URL_SECRET_NAME",
)


def local_environment(**ports: int) -> dict[str, str]:
    """This environment without service URLs: commands must find the services by their ports."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_URLS and not k.startswith("PLUTOMI_")}
    return env | {"PLUTOMI_ENV": "local"} | {f"PLUTOMI_{k.upper()}_PORT": str(v) for k, v in ports.items()}


def test_settings_point_every_command_at_the_ports_plutomi_dev_uses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in SERVICE_URLS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PLUTOMI_ENV", "local")
    monkeypatch.setenv("PLUTOMI_NATS_PORT", "14222")
    monkeypatch.setenv("PLUTOMI_MONGODB_PORT", "37017")
    monkeypatch.setenv("PLUTOMI_AWS_PORT", "15000")
    settings = load_settings()
    assert settings.nats_url == "nats://127.0.0.1:14222"
    assert settings.mongodb_url == "mongodb://127.0.0.1:37017"
    assert settings.aws_endpoint_url == "http://127.0.0.1:15000"
    assert settings.external_services == frozenset()
    endpoints = embedded_services(tmp_path).endpoints  # what `plutomi dev` would start
    assert (endpoints.nats_url, endpoints.mongodb_url, endpoints.aws_endpoint_url) == (
        settings.nats_url,
        settings.mongodb_url,
        settings.aws_endpoint_url,
    )

    monkeypatch.setenv("NATS_URL", "nats://nats.example:4222")
    given = load_settings()
    assert given.nats_url == "nats://nats.example:4222" and given.external_services == {"nats"}
    assert embedded_services(tmp_path).endpoints.nats_url == "nats://nats.example:4222"

    monkeypatch.setenv("PLUTOMI_ENV", "production")
    monkeypatch.setenv("PLUTOMI_SESSION_SECRET", "a-real-secret")
    assert load_settings().aws_endpoint_url is None, "outside local development, unset means AWS itself"
    monkeypatch.setenv("PLUTOMI_AWS_PORT", "not-a-port")
    with pytest.raises(RuntimeError, match="PLUTOMI_AWS_PORT"):
        load_settings()


def test_plutomi_mail_reads_the_local_ses_found_by_its_port(services: dict[str, str]) -> None:
    to = unique_email("mail-cli")
    bootstrap.mailer().send(OutgoingEmail(to=to, subject="Found by port", text="Hello from moto", html=""))
    port = urlsplit(services["AWS_ENDPOINT_URL"]).port
    assert port is not None
    listed = run_plutomi("mail", "--to", to, env=local_environment(aws=port))
    assert listed.returncode == 0, listed.stderr
    assert f"To: {to}" in listed.stdout and "Subject: Found by port" in listed.stdout
    assert "Hello from moto" in listed.stdout


def test_plutomi_mail_says_in_one_line_when_no_local_ses_answers() -> None:
    closed = free_port()
    answer = run_plutomi("mail", env=local_environment(aws=closed))
    assert answer.returncode == 1
    assert "Traceback" not in answer.stderr + answer.stdout, answer.stderr
    assert answer.stderr.strip().count("\n") == 0, answer.stderr
    assert f"no local SES answers at http://127.0.0.1:{closed}" in answer.stderr
    assert "PLUTOMI_AWS_PORT" in answer.stderr
