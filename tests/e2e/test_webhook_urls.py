"""Webhook URLs aimed at the internal network are refused over HTTP, on create and on change, however
the address is spelled. The stack runs with PLUTOMI_ENV=test, where loopback is allowed (receivers run
on this machine), so these are the addresses refused everywhere; loopback refused outside development
is covered by tests/integration/test_webhooks.py and tests/unit/test_webhook_addresses.py."""

from __future__ import annotations

import pytest

from tests.conftest import unique_email, unique_org_id
from tests.support.http import Api, sign_in
from tests.support.network import only_loopback_connections
from tests.support.stack import RunningStack

INTERNAL_URLS = [
    "https://10.0.0.1/x",
    "https://0x0a000001/",  # 10.0.0.1 in hex
    "https://167772161/",  # ... in decimal
    "https://012.0.0.1/",  # ... with an octal first part
    "https://10.1/",  # ... short
    "https://169.254.169.254/latest",
    "https://169.254.169.254./latest/meta-data/iam/",
    "https://0251.0376.0251.0376/",
    "https://[fd00::1]/",
    "https://[fd00:ec2::254]/latest",
    "https://[fe80::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[64:ff9b::a00:1]/",
    "https://[2002:a00:1::]/",
    "https://100.64.0.1/",
    "https://192.168.0.1:8443/hook",
    "https://172.16.0.1/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://224.0.0.1/",
    "https://198.18.0.1/",
    "https://203.0.113.10/",
    "https://[2001:db8::1]/",
    "https://168.63.129.16/",
]


@pytest.fixture(scope="module")
def admin(stack: RunningStack) -> tuple[Api, str]:
    api = sign_in(stack.base_url, unique_email("ssrf"))
    org_id = unique_org_id("ssrf")
    assert api.post("/orgs", json={"id": org_id, "display_name": "SSRF"}).status_code == 201
    return api, org_id


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_internal_url_is_refused_on_create_and_change(
    admin: tuple[Api, str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, org_id = admin
    base = f"/orgs/{org_id}/webhooks"
    with only_loopback_connections(monkeypatch) as refused:
        created = api.post(base, json={"url": url, "event_types": ["org.updated"]})
        assert created.status_code == 400, created.text
        error = created.json()["error"]
        assert error["code"] == "webhook_url_not_public", created.text
        assert "public" in error["message"]
        assert api.get(base).json()["webhooks"] == []

        hook = api.post(base, json={"url": "https://example.invalid/hook", "event_types": ["org.deleted"]})
        assert hook.status_code == 201, hook.text
        item = f"{base}/{hook.json()['id']}"
        changed = api.patch(item, json={"url": url})
        assert changed.status_code == 400, changed.text
        assert changed.json()["error"]["code"] == "webhook_url_not_public"
        assert api.get(item).json()["url"] == "https://example.invalid/hook"
        assert api.delete(item).status_code == 204
    assert refused == []


def test_the_message_says_what_to_do(admin: tuple[Api, str]) -> None:
    api, org_id = admin
    response = api.post(
        f"/orgs/{org_id}/webhooks", json={"url": "https://0x0a000001/hook", "event_types": ["org.updated"]}
    )
    message = response.json()["error"]["message"]
    assert "0x0a000001 (10.0.0.1)" in message and "private" in message and "public hosts" in message


def test_public_and_local_urls_are_still_accepted_here(admin: tuple[Api, str]) -> None:
    """PLUTOMI_ENV=test: this machine in any spelling, and public addresses. None of these is called:
    the org's webhooks only want org.deleted, and they are deleted again."""
    api, org_id = admin
    base = f"/orgs/{org_id}/webhooks"
    for url in (
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://127.0.0.1:8443/hook",
        "https://0x7f.1/",
        "https://[::1]/",
        "http://localhost:8000/hook",
    ):
        created = api.post(base, json={"url": url, "event_types": ["org.deleted"]})
        assert created.status_code == 201, f"{url}: {created.text}"
        assert created.json()["url"] == url
        assert api.delete(f"{base}/{created.json()['id']}").status_code == 204
