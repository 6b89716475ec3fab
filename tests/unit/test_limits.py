"""The rate limits' table, the client key, and where a client's address comes from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from plutomi import bootstrap
from plutomi.domain.identity import MAX_CODE_ATTEMPTS
from plutomi.domain.limits import LIMITS, WRONG_CODES_PER_CLIENT, client_key
from plutomi.entrypoints.api import client_address
from plutomi.runtime.aws_events import http_event

API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_one_client_can_never_kill_a_code_alone() -> None:
    assert WRONG_CODES_PER_CLIENT.count < MAX_CODE_ATTEMPTS


def test_every_limit_is_documented_with_its_numbers() -> None:
    text = API_DOCS.read_text()
    for limit in LIMITS:
        row = next((line for line in text.splitlines() if f"`{limit.name}`" in line), None)
        assert row is not None, f"docs/api.md has no row for the limit {limit.name}"
        minutes = limit.window_seconds // 60
        window = f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
        assert re.search(rf"\|\s*{limit.count}\s*\|", row), f"{limit.name}: the count {limit.count} in {row}"
        assert window in row, f"{limit.name}: the window {window} in {row}"
        assert f"`{limit.code}`" in row, f"{limit.name}: the code {limit.code} in {row}"
    documented = set(re.findall(r"^\| `([a-z-]+-per-[a-z]+)`", text, re.MULTILINE))
    assert documented == {limit.name for limit in LIMITS}


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # the same subscriber's network
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("not an address", "unknown:not an address"),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_network(address: str, key: str) -> None:
    assert client_key(address) == key


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("PLUTOMI_CLIENT_IP_HEADER", raising=False)
    monkeypatch.delenv("PLUTOMI_TRUSTED_PROXY_HOPS", raising=False)
    bootstrap.reset()
    yield monkeypatch
    bootstrap.reset()


def address_of(headers: list[tuple[str, str]], source_ip: str = "192.0.2.10") -> str:
    event = http_event(method="POST", path="/auth/totp", route_key="POST /auth/totp", headers=headers,
                       source_ip=source_ip)  # fmt: skip
    return client_address(SimpleNamespace(current_event=APIGatewayProxyEventV2(event)))  # type: ignore[arg-type]


def test_without_a_configured_header_the_connection_names_the_client(
    settings_env: pytest.MonkeyPatch,
) -> None:
    assert address_of([("x-forwarded-for", "198.51.100.1")]) == "192.0.2.10"


def test_behind_proxies_the_entry_of_the_outermost_one_names_the_client(
    settings_env: pytest.MonkeyPatch,
) -> None:
    settings_env.setenv("PLUTOMI_CLIENT_IP_HEADER", "X-Forwarded-For")
    assert address_of([("x-forwarded-for", "6.6.6.6, 198.51.100.1")]) == "198.51.100.1"
    assert address_of([("x-forwarded-for", "198.51.100.1")]) == "198.51.100.1"
    assert address_of([("x-forwarded-for", "not-an-ip")]) == "192.0.2.10"
    assert address_of([]) == "192.0.2.10"
    settings_env.setenv("PLUTOMI_TRUSTED_PROXY_HOPS", "2")  # a CDN in front of the load balancer
    bootstrap.reset()
    assert address_of([("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.5")]) == "198.51.100.1"
    assert address_of([("x-forwarded-for", "2001:db8::1"), ("x-forwarded-for", "10.0.0.5")]) == "2001:db8::1"
