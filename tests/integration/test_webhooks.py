"""Webhooks end to end: created over HTTP, fed by the real pipeline (NATS -> bridge -> consumer), and
delivered to a real HTTP receiver on this machine that records what it gets and answers as told.

The consumer is also called directly, as Lambda calls it, for the cases that need a precise sequence
of answers: a retry reported to the batch, settled webhooks skipped on the retry, nothing sent twice.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest
from pymongo import MongoClient

from functions.consumers import webhooks as webhooks_consumer
from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_store import MongoStore
from plutomi.adapters.webhook_sender import WebhookSender
from plutomi.domain import events
from plutomi.domain.errors import InvalidInput
from plutomi.domain.events import Event
from plutomi.domain.webhooks import (
    NO_RESPONSE,
    NOT_SENT_INVALID_URL,
    NOT_SENT_NOT_PUBLIC,
    Delivery,
    SendResult,
    Webhook,
    verify_signature,
)
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.embedded import free_port
from plutomi.runtime.functions import LocalContext
from plutomi.services import webhooks
from plutomi.services.auth import authenticate
from plutomi.services.ports import Dependencies
from tests.conftest import login_code_request, stored_org, unique_email, unique_org_id
from tests.integration.test_store import CommandRecorder, uses_index
from tests.support.http import Api, sign_in
from tests.support.network import FakeResolver, RecordingConnect, only_loopback_connections
from tests.support.purge import finish_purge
from tests.support.stack import RunningStack

T = TypeVar("T")
WAIT_SECONDS = 15.0

# ---------------------------------------------------------------------- a receiver


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Receiver:
    """An HTTP server on a free local port. Each path answers its planned statuses in turn (the last
    one repeats; 200 when nothing was planned) and every request is recorded before it is answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._plans: dict[str, list[Answer]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = receiver._record(
                    Received(
                        method=self.command,
                        path=self.path,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        body=body,
                    )
                )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()

    def _record(self, request: Received) -> Answer:
        with self._lock:
            self._received.append(request)
            plan = self._plans.get(request.path) or [Answer(200)]
            return plan.pop(0) if len(plan) > 1 else plan[0]

    def path(self, label: str, *answers: int | Answer) -> str:
        """A fresh path that answers `answers` in turn."""
        path = f"/{label}-{uuid.uuid4().hex[:8]}"
        planned = [a if isinstance(a, Answer) else Answer(a) for a in answers] or [Answer(200)]
        with self._lock:
            self._plans[path] = planned
        return path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    def wait_for(self, path: str, count: int = 1) -> list[Received]:
        return wait_until(lambda: got if len(got := self.to(path)) >= count else None, f"{count} at {path}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def wait_until(probe: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.stop()


# ---------------------------------------------------------------------- helpers


def new_org(api: Api, label: str) -> str:
    org_id = unique_org_id(label)
    created = api.post("/orgs", json={"id": org_id, "display_name": f"{label} org"})
    assert created.status_code == 201, created.text
    return org_id


def create_webhook(api: Api, org_id: str, url: str, event_types: list[str]) -> dict[str, Any]:
    created = api.post(f"/orgs/{org_id}/webhooks", json={"url": url, "event_types": event_types})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def rename(api: Api, org_id: str, name: str) -> None:
    response = api.patch(f"/orgs/{org_id}", json={"display_name": name})
    assert response.status_code == 200, response.text


def deliveries(api: Api, org_id: str, webhook_id: str, **params: Any) -> httpx.Response:
    return api.get(f"/orgs/{org_id}/webhooks/{webhook_id}/deliveries", params=params)


def wait_for_deliveries(
    api: Api, org_id: str, webhook_id: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        response = deliveries(api, org_id, webhook_id)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["deliveries"]
        return found if done(found) else None

    return wait_until(probe, f"deliveries of {webhook_id}")


def signature_time(request: Received) -> int:
    parts = dict(part.split("=", 1) for part in request.headers["plutomi-signature"].split(","))
    return int(parts["t"])


# ---------------------------------------------------------------------- through the pipeline


def test_an_event_arrives_signed_with_its_id(stack: RunningStack, receiver: Receiver) -> None:
    owner = sign_in(stack.base_url, unique_email("hooks"))
    org_id = new_org(owner, "signed")
    path = receiver.path("signed")
    response = owner.post(
        f"/orgs/{org_id}/webhooks",
        json={"url": receiver.url(path), "event_types": ["org.updated"], "description": " CRM sync "},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret, webhook_id = created["secret"], created["id"]
    assert secret.startswith("whsec_") and len(secret) >= 40
    assert webhook_id.startswith("whk_")
    assert (created["url"], created["event_types"], created["description"], created["enabled"]) == (
        receiver.url(path),
        ["org.updated"],
        "CRM sync",
        True,
    )

    # The secret is shown once: never by a read.
    read = owner.get(f"/orgs/{org_id}/webhooks/{webhook_id}")
    assert read.status_code == 200, read.text
    assert "secret" not in read.json() and secret not in read.text
    assert read.json() == {k: v for k, v in created.items() if k != "secret"}
    listed = owner.get(f"/orgs/{org_id}/webhooks")
    assert [w["id"] for w in listed.json()["webhooks"]] == [webhook_id]
    assert secret not in listed.text

    sent_after = int(time.time())
    rename(owner, org_id, "Renamed for the hook")
    [request] = receiver.wait_for(path)
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Plutomi-Webhooks/1"
    envelope = request.envelope
    assert (envelope["type"], envelope["org_id"]) == ("org.updated", org_id)
    assert envelope["data"]["display_name"] == "Renamed for the hook"
    assert request.headers["plutomi-event-id"] == envelope["id"] and envelope["id"].startswith("evt_")
    assert request.headers["plutomi-event-type"] == "org.updated"

    signature = request.headers["plutomi-signature"]
    assert verify_signature(secret, signature, request.body, time.time())
    assert not verify_signature("whsec_someone-else", signature, request.body, time.time())
    assert not verify_signature(secret, signature, request.body.replace(b"Renamed", b"Tampered"), time.time())
    assert sent_after - 1 <= signature_time(request) <= time.time() + 1

    [delivery] = wait_for_deliveries(owner, org_id, webhook_id, lambda found: len(found) == 1)
    assert delivery["webhook_id"] == webhook_id
    assert (delivery["event_id"], delivery["event_type"]) == (envelope["id"], "org.updated")
    assert (delivery["attempt"], delivery["status_code"], delivery["outcome"]) == (1, 200, "delivered")
    assert isinstance(delivery["latency_ms"], int) and 0 <= delivery["latency_ms"] < 10_000
    assert delivery["error"] is None
    # Only the subscribed type came: not webhook.created, which the pipeline handled before.
    assert [r.headers["plutomi-event-type"] for r in receiver.to(path)] == ["org.updated"]


def test_a_4xx_is_final_while_a_5xx_is_retried_by_the_pipeline(
    stack: RunningStack, receiver: Receiver
) -> None:
    owner = sign_in(stack.base_url, unique_email("retries"))
    org_id = new_org(owner, "retries")
    secret_body = b"Traceback: db-7.internal:5432 password authentication failed"
    gone = receiver.path("gone", Answer(410, body=b"<h1>nginx on ip-10-0-0-5</h1>"))
    flaky = receiver.path("flaky", Answer(500, {"X-Backend": "10.0.0.9:8080"}, secret_body), Answer(200))
    gone_hook = create_webhook(owner, org_id, receiver.url(gone), ["org.updated"])
    flaky_hook = create_webhook(owner, org_id, receiver.url(flaky), ["org.updated"])

    rename(owner, org_id, "First")
    first, second = receiver.wait_for(flaky, 2)  # the retry comes after the bridge's first back-off
    event_id = first.headers["plutomi-event-id"]
    assert second.headers["plutomi-event-id"] == event_id and second.body == first.body
    for request in (first, second):
        assert verify_signature(
            flaky_hook["secret"], request.headers["plutomi-signature"], request.body, time.time()
        )
    assert signature_time(second) >= signature_time(first)

    attempts = wait_for_deliveries(
        owner, org_id, flaky_hook["id"], lambda found: any(d["outcome"] == "delivered" for d in found)
    )
    assert [(d["attempt"], d["status_code"], d["outcome"]) for d in attempts] == [
        (2, 200, "delivered"),
        (1, 500, "failed_will_retry"),
    ]
    assert attempts[1]["error"] == "HTTP 500 Internal Server Error"  # never the body or headers
    listed = deliveries(owner, org_id, flaky_hook["id"]).text
    assert "db-7" not in listed and "10.0.0.9" not in listed and "Traceback" not in listed

    # A second event is handled after the first one's retry has finished (one bridge, in order): by
    # the time the 410 receiver has it, the retry of the first event is over.
    rename(owner, org_id, "Second")
    gone_requests = receiver.wait_for(gone, 2)
    wait_for_deliveries(owner, org_id, flaky_hook["id"], lambda found: len(found) == 3)
    assert [r.envelope["data"]["display_name"] for r in gone_requests] == ["First", "Second"]
    assert gone_requests[0].headers["plutomi-event-id"] == event_id
    assert len(receiver.to(gone)) == 2, "a 410 was retried"
    refused = wait_for_deliveries(owner, org_id, gone_hook["id"], lambda found: len(found) == 2)
    assert {(d["attempt"], d["status_code"], d["outcome"]) for d in refused} == {(1, 410, "failed_permanent")}
    assert {d["error"] for d in refused} == {"HTTP 410 Gone"}

    # Pages, newest first.
    page = deliveries(owner, org_id, flaky_hook["id"], limit=2)
    assert page.status_code == 200, page.text
    newest, older = page.json()["deliveries"]
    assert newest["attempt"] == 1 and newest["event_id"] != event_id  # the second event's
    assert page.json()["next_cursor"]
    rest = deliveries(owner, org_id, flaky_hook["id"], limit=2, cursor=page.json()["next_cursor"]).json()
    assert [(d["event_id"], d["attempt"]) for d in rest["deliveries"]] == [(event_id, 1)]
    assert rest["next_cursor"] is None
    assert older["id"] > rest["deliveries"][0]["id"]
    bad = deliveries(owner, org_id, flaky_hook["id"], cursor="not-a-cursor")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


def test_a_redirect_is_not_followed(stack: RunningStack, receiver: Receiver) -> None:
    owner = sign_in(stack.base_url, unique_email("redirect"))
    org_id = new_org(owner, "redirect")
    target = receiver.path("target")
    moved = receiver.path("moved", Answer(302, {"Location": receiver.url(target)}))
    hook = create_webhook(owner, org_id, receiver.url(moved), ["org.updated"])

    rename(owner, org_id, "Bounced")
    attempt = wait_for_deliveries(owner, org_id, hook["id"], lambda found: len(found) >= 1)[-1]
    assert attempt["attempt"] == 1
    assert (attempt["status_code"], attempt["outcome"]) == (302, "failed_will_retry")
    assert attempt["error"] == "HTTP 302: redirect not followed"  # and not where to
    assert target not in deliveries(owner, org_id, hook["id"]).text
    # A followed redirect would have reached the target before the attempt was recorded.
    assert len(receiver.to(moved)) >= 1
    assert receiver.to(target) == []

    # Deleting the webhook ends the retries and its history.
    assert owner.delete(f"/orgs/{org_id}/webhooks/{hook['id']}").status_code == 204
    gone = owner.get(f"/orgs/{org_id}/webhooks/{hook['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "webhook_not_found"
    assert deliveries(owner, org_id, hook["id"]).status_code == 404
    assert owner.get(f"/orgs/{org_id}/webhooks").json()["webhooks"] == []


def test_urls_and_event_types_are_checked_on_create_and_update(stack: RunningStack) -> None:
    owner = sign_in(stack.base_url, unique_email("rules"))
    org_id = new_org(owner, "rules")
    base = f"/orgs/{org_id}/webhooks"

    def refused(body: dict[str, Any], status: int, code: str, method: str = "POST", path: str = base) -> None:
        response = owner.request(method, path, json=body)
        assert response.status_code == status, f"{body}: {response.status_code} {response.text}"
        error = response.json()["error"]
        assert error["code"] == code and error["message"], response.text

    for url in (
        "http://example.com/hook",
        "http://10.0.0.7/hook",
        "ftp://example.com/hook",
        "https://user:secret@example.com/hook",
        "not a url",
    ):
        refused({"url": url, "event_types": ["org.updated"]}, 400, "invalid_webhook_url")
    refused({"url": "https://example.com/hook", "event_types": ["totp.requested"]}, 400, "invalid_event_type")
    refused({"url": "https://example.com/hook", "event_types": ["org.nothing"]}, 400, "invalid_event_type")
    refused({"url": "https://example.com/hook", "event_types": []}, 422, "validation_failed")
    assert owner.get(base).json()["webhooks"] == []

    hook = create_webhook(
        owner, org_id, "https://example.invalid/hooks", ["applicant.moved", "applicant.moved"]
    )
    assert hook["event_types"] == ["applicant.moved"]
    path = f"{base}/{hook['id']}"
    refused({"url": "http://example.com/hook"}, 400, "invalid_webhook_url", "PATCH", path)
    refused({"event_types": ["user.updated"]}, 400, "invalid_event_type", "PATCH", path)
    unchanged = owner.get(path).json()
    assert (unchanged["url"], unchanged["event_types"]) == (
        "https://example.invalid/hooks",
        ["applicant.moved"],
    )

    changed = owner.patch(
        path, json={"url": "https://example.invalid/v2", "event_types": ["*"], "enabled": False}
    )
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("url", "event_types", "enabled", "description")} == {
        "url": "https://example.invalid/v2",
        "event_types": ["*"],
        "enabled": False,
        "description": "",
    }
    assert "secret" not in changed.json()
    assert owner.get(path).json() == changed.json()
    assert changed.json()["updated_at"] >= hook["updated_at"]
    assert owner.delete(path).status_code == 204
    assert owner.delete(path).status_code == 404


def test_another_org_cannot_see_or_touch_a_webhook(stack: RunningStack) -> None:
    alice = sign_in(stack.base_url, unique_email("alice-hooks"))
    mallory = sign_in(stack.base_url, unique_email("mallory-hooks"))
    org_a, org_b = new_org(alice, "hooks-a"), new_org(mallory, "hooks-b")
    hook = create_webhook(alice, org_a, "https://example.invalid/a", ["applicant.moved"])
    before = alice.get(f"/orgs/{org_a}/webhooks/{hook['id']}").json()

    for org_id, code in ((org_a, "org_not_found"), (org_b, "webhook_not_found")):
        item = f"/orgs/{org_id}/webhooks/{hook['id']}"
        for response in (
            mallory.get(item),
            mallory.get(f"{item}/deliveries"),
            mallory.patch(item, json={"url": "https://evil.example/steal"}),
            mallory.delete(item),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == code, response.text
    listed = mallory.get(f"/orgs/{org_a}/webhooks")
    assert listed.status_code == 404 and listed.json()["error"]["code"] == "org_not_found"
    created = mallory.post(
        f"/orgs/{org_a}/webhooks", json={"url": "https://evil.example/x", "event_types": ["*"]}
    )
    assert created.status_code == 404, created.text
    assert mallory.get(f"/orgs/{org_b}/webhooks").json()["webhooks"] == []
    assert alice.get(f"/orgs/{org_a}/webhooks/{hook['id']}").json() == before
    assert [w["id"] for w in alice.get(f"/orgs/{org_a}/webhooks").json()["webhooks"]] == [hook["id"]]


def test_members_read_webhooks_and_only_admins_change_them(stack: RunningStack) -> None:
    owner = sign_in(stack.base_url, unique_email("hook-owner"))
    org_id = new_org(owner, "hook-roles")
    member_email = unique_email("hook-member")
    invite = owner.post(f"/orgs/{org_id}/invites", json={"email": member_email, "role": "member"})
    assert invite.status_code == 201, invite.text
    member = sign_in(stack.base_url, member_email)
    assert member.post(f"/invites/{invite.json()['id']}/accept").status_code == 200
    hook = create_webhook(owner, org_id, "https://example.invalid/roles", ["applicant.moved"])
    item = f"/orgs/{org_id}/webhooks/{hook['id']}"

    assert [w["id"] for w in member.get(f"/orgs/{org_id}/webhooks").json()["webhooks"]] == [hook["id"]]
    assert member.get(item).status_code == 200 and "secret" not in member.get(item).json()
    assert member.get(f"{item}/deliveries").json() == {"deliveries": [], "next_cursor": None}
    for response in (
        member.post(
            f"/orgs/{org_id}/webhooks", json={"url": "https://example.invalid/m", "event_types": ["*"]}
        ),
        member.patch(item, json={"enabled": False}),
        member.delete(item),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "insufficient_role"
    assert owner.get(item).json()["enabled"] is True
    assert len(owner.get(f"/orgs/{org_id}/webhooks").json()["webhooks"]) == 1


def test_deleting_an_org_deletes_its_webhooks(stack: RunningStack, clock: FixedClock) -> None:
    owner = sign_in(stack.base_url, unique_email("hook-leaver"))
    org_id = new_org(owner, "hook-gone")
    create_webhook(owner, org_id, "https://example.invalid/old-owner", ["*"])
    assert owner.delete(f"/orgs/{org_id}").status_code == 204
    assert owner.get(f"/orgs/{org_id}/webhooks").status_code == 404

    # Whoever takes the id next (once the purge has finished) starts with no webhooks: nothing of the
    # old org is delivered anywhere.
    successor = sign_in(stack.base_url, unique_email("hook-successor"))
    early = successor.post("/orgs", json={"id": org_id, "display_name": "Successor"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "org_being_deleted"
    finish_purge(org_id, clock)
    assert successor.post("/orgs", json={"id": org_id, "display_name": "Successor"}).status_code == 201
    assert successor.get(f"/orgs/{org_id}/webhooks").json()["webhooks"] == []


INTERNAL_NAMES = {
    "hooks.internal.example.test": ["10.0.0.1"],
    "metadata.example.test": ["169.254.169.254"],
    "split.example.test": ["93.184.215.14", "fd00::1"],
    "loop.example.test": ["127.0.0.1"],
    "public.example.test": ["93.184.215.14"],
}


@pytest.fixture
def internal_names(services: dict[str, str]) -> Iterator[FakeResolver]:
    """Every name resolves from `INTERNAL_NAMES` (others do not resolve), for the API, the consumers
    and the sender alike; no DNS is asked."""
    resolver = FakeResolver(INTERNAL_NAMES)
    bootstrap.override(resolver=resolver)
    yield resolver
    bootstrap.reset()


def test_a_stored_internal_url_is_refused_at_delivery_and_never_retried(
    stack: RunningStack, receiver: Receiver, internal_names: FakeResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = sign_in(stack.base_url, unique_email("internal"))
    org_id = new_org(owner, "internal")
    deps = bootstrap.dependencies()
    flaky = receiver.path("sibling", 503, 200)
    sibling = create_webhook(owner, org_id, receiver.url(flaky), ["org.updated"])
    # URLs saved before hosts were checked, or whose name now resolves inside: only the store has them.
    refused_urls = {
        "https://10.0.0.1/x": NOT_SENT_NOT_PUBLIC,
        "https://0xa9fea9fe/latest/meta-data/": NOT_SENT_NOT_PUBLIC,
        "https://[::ffff:10.0.0.1]/": NOT_SENT_NOT_PUBLIC,
        "https://[fd00:ec2::254]/": NOT_SENT_NOT_PUBLIC,
        "https://hooks.internal.example.test/in": NOT_SENT_NOT_PUBLIC,
        "https://metadata.example.test/computeMetadata/v1/": NOT_SENT_NOT_PUBLIC,
        "https://split.example.test/": NOT_SENT_NOT_PUBLIC,
        "http://10.0.0.1:8080/": NOT_SENT_INVALID_URL,
    }
    stored = {url: stored_webhook(deps, org_id, url, ["org.updated"]) for url in refused_urls}
    # An attempt recorded by an older version, with what it used to keep.
    legacy = stored_webhook(deps, org_id, "https://example.invalid/legacy", ["org.deleted"])
    now = deps.clock.now()
    for number, (status, error) in enumerate(
        [
            (None, "URLError: [Errno 111] Connection refused"),
            (None, "URLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"),
            (500, "HTTP 500: FATAL: password authentication failed for user postgres"),
            (302, "HTTP 302: redirects are not followed (to http://10.0.0.5/admin)"),
        ],
        start=1,
    ):
        deps.store.deliveries.record(
            Delivery(
                id=deps.clock.new_id("dlv"),
                org_id=org_id,
                webhook_id=legacy.id,
                event_id=f"evt_legacy{number}",
                event_type="org.updated",
                attempt=1,
                status_code=status,
                outcome="failed_will_retry",
                latency_ms=3,
                error=error,
                created_at=now,
                updated_at=now,
            )
        )

    with only_loopback_connections(monkeypatch) as refused:
        rename(owner, org_id, "Aimed inside")
        receiver.wait_for(flaky, 2)  # the event was retried, for the sibling
        wait_for_deliveries(
            owner, org_id, sibling["id"], lambda found: any(d["outcome"] == "delivered" for d in found)
        )
    assert refused == [], "a connection off this machine was attempted"

    for url, reason in refused_urls.items():
        response = deliveries(owner, org_id, stored[url].id)
        assert response.status_code == 200, response.text
        # Once, for good: the retry that reached the sibling skipped it as settled.
        [attempt] = response.json()["deliveries"]
        assert (attempt["attempt"], attempt["status_code"], attempt["outcome"]) == (
            1,
            None,
            "failed_permanent",
        )
        assert attempt["error"] == reason, url
        said = json.dumps({key: attempt[key] for key in ("status_code", "error", "latency_ms")})
        for detail in ("10.0.0.1", "169.254", "fd00", "a00:1", "Errno", "Error"):
            assert detail not in said, (url, detail)
    assert internal_names.asked("hooks.internal.example.test") == 1  # resolved once, at the one attempt

    shown = deliveries(owner, org_id, legacy.id)
    assert sorted(d["error"] for d in shown.json()["deliveries"]) == [
        "HTTP 302: redirect not followed",
        "HTTP 500 Internal Server Error",
        NO_RESPONSE,
        NO_RESPONSE,
    ]
    for detail in ("Errno", "SSL", "password", "10.0.0.5", "URLError"):
        assert detail not in shown.text


def test_registration_resolves_names_and_refuses_internal_ones(
    stack: RunningStack, internal_names: FakeResolver
) -> None:
    owner = sign_in(stack.base_url, unique_email("names"))
    org_id = new_org(owner, "names")
    for name in ("hooks.internal.example.test", "metadata.example.test", "split.example.test"):
        response = owner.post(
            f"/orgs/{org_id}/webhooks", json={"url": f"https://{name}/in", "event_types": ["org.updated"]}
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "webhook_url_not_public" and name in error["message"]
        for answer in INTERNAL_NAMES[name]:
            assert answer not in response.text  # what an internal name resolves to is not told
        assert internal_names.asked(name) == 1
    # This machine is allowed in development (PLUTOMI_ENV=test here); a public name anywhere.
    for name in ("loop.example.test", "public.example.test", "not-resolving-yet.example.test"):
        create_webhook(owner, org_id, f"https://{name}/in", ["org.deleted"])
    hook = create_webhook(owner, org_id, "https://public.example.test/v1", ["org.deleted"])
    moved = owner.patch(f"/orgs/{org_id}/webhooks/{hook['id']}", json={"url": "https://split.example.test/"})
    assert moved.status_code == 400 and moved.json()["error"]["code"] == "webhook_url_not_public"
    assert (
        owner.get(f"/orgs/{org_id}/webhooks/{hook['id']}").json()["url"] == "https://public.example.test/v1"
    )


def test_outside_development_loopback_is_refused_like_any_internal_address(
    stack: RunningStack, receiver: Receiver
) -> None:
    """The use cases under production settings: nothing of this machine is registered or called."""
    owner = sign_in(stack.base_url, unique_email("production"))
    org_id = new_org(owner, "production")
    deps = bootstrap.dependencies()
    principal = authenticate(deps, owner.token)
    resolver = FakeResolver(INTERNAL_NAMES)
    production = replace(deps, settings=replace(deps.settings, environment="production"), resolver=resolver)
    assert not production.settings.is_local
    path = receiver.path("production")

    for url in (
        "https://127.0.0.1/",
        receiver.url(path).replace("http://", "https://"),
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://127.0.0.1./",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://localhost/",
        "https://api.localhost/",
        "https://loop.example.test/",  # a name resolving to 127.0.0.1
        "https://10.0.0.1/x",
        "https://hooks.internal.example.test/",
    ):
        with pytest.raises(InvalidInput) as raised:
            webhooks.create_webhook(production, principal, org_id, url, ["org.updated"])
        assert raised.value.code == "webhook_url_not_public", url
    for url in (receiver.url(path), "http://localhost:8000/"):
        with pytest.raises(InvalidInput) as raised:
            webhooks.create_webhook(production, principal, org_id, url, ["org.updated"])
        assert raised.value.code == "invalid_webhook_url", url
    created = webhooks.create_webhook(
        production, principal, org_id, "https://public.example.test/", ["org.deleted"]
    )
    with pytest.raises(InvalidInput) as raised:
        webhooks.update_webhook(
            production, principal, org_id, created.webhook.id, url="https://loop.example.test/"
        )
    assert raised.value.code == "webhook_url_not_public"
    # The same name in development: allowed, as receivers run on this machine there.
    development = replace(deps, resolver=resolver)
    webhooks.update_webhook(
        development, principal, org_id, created.webhook.id, url="https://loop.example.test/"
    )

    # Webhooks saved in development and delivered under production settings: refused, for good.
    hooks = [
        stored_webhook(deps, org_id, url, ["org.updated"])
        for url in (
            receiver.url(path),
            receiver.url(path).replace("http://", "https://"),
            f"https://loop.example.test:{receiver.port}{path}",
        )
    ]
    connect = RecordingConnect()
    sender = WebhookSender(resolver, allow_loopback=False, connect=connect)
    outcome = webhooks.deliver(production, sender, org_updated(deps, org_id))  # raises if any is retried
    assert outcome == {"delivered": 0, "failed_permanent": 3, "already_settled": 0, "skipped": 0}
    assert connect.attempts == [] and receiver.to(path) == []
    assert [attempts_of(deps, hook) for hook in hooks] == [[(1, None, "failed_permanent")]] * 3
    errors = [d.error for hook in hooks for d in deps.store.deliveries.list_for_webhook(org_id, hook.id, 10)]
    assert errors == [NOT_SENT_INVALID_URL, NOT_SENT_NOT_PUBLIC, NOT_SENT_NOT_PUBLIC]


def test_the_deliveries_api_never_shows_why_no_response_came(stack: RunningStack) -> None:
    owner = sign_in(stack.base_url, unique_email("nobody"))
    org_id = new_org(owner, "nobody")
    hook = create_webhook(owner, org_id, f"http://127.0.0.1:{free_port()}/nobody-listens", ["org.updated"])
    rename(owner, org_id, "Into the void")
    [attempt, *_] = wait_for_deliveries(owner, org_id, hook["id"], lambda found: len(found) >= 1)[::-1]
    assert (attempt["status_code"], attempt["outcome"], attempt["error"]) == (
        None,
        "failed_will_retry",
        NO_RESPONSE,
    )
    text = deliveries(owner, org_id, hook["id"]).text.lower()
    for detail in ("refused", "errno", "urlerror", "connection", "timed out"):
        assert detail not in text
    assert owner.delete(f"/orgs/{org_id}/webhooks/{hook['id']}").status_code == 204  # ends the retries


# ---------------------------------------------------------------------- the consumer, called directly


NO_FAILURES: dict[str, Any] = {"batchItemFailures": []}


def invoke(event: Event) -> tuple[dict[str, Any], str]:
    message_id = str(uuid.uuid4())
    context: Any = LocalContext("consumers.webhooks")
    response = webhooks_consumer.handler(
        sqs_event([sqs_record(event.model_dump_json(), message_id=message_id)]), context
    )
    return response, message_id


def stored_webhook(
    deps: Dependencies, org_id: str, url: str, event_types: list[str], enabled: bool = True
) -> Webhook:
    now = deps.clock.now() - timedelta(seconds=1)
    if deps.store.orgs.get(org_id) is None:  # events of an org that does not exist go nowhere
        stored_org(deps, org_id)
    webhook = Webhook(
        id=deps.clock.new_id("whk"),
        org_id=org_id,
        url=url,
        event_types=event_types,
        secret=f"whsec_{uuid.uuid4().hex}",
        enabled=enabled,
        created_by="usr_test",
        created_at=now,
        updated_at=now,
    )
    deps.store.webhooks.create(webhook)
    return webhook


def attempts_of(deps: Dependencies, webhook: Webhook) -> list[tuple[int, int | None, str]]:
    found = deps.store.deliveries.list_for_webhook(webhook.org_id, webhook.id, limit=50)
    return sorted((d.attempt, d.status_code, d.outcome) for d in found)


def org_updated(deps: Dependencies, org_id: str) -> Event:
    return deps.event(events.ORG_UPDATED, org_id, {"org_id": org_id, "display_name": "Direct", "by": "usr_x"})


def test_the_consumer_fails_the_record_to_retry_and_skips_settled_webhooks(
    deps: Dependencies, receiver: Receiver
) -> None:
    org_id = unique_org_id("direct")
    ok, flaky, gone = receiver.path("ok"), receiver.path("flaky", 503, 204), receiver.path("gone", 404)
    off, other = receiver.path("off"), receiver.path("other")
    hooks = {
        "ok": stored_webhook(deps, org_id, receiver.url(ok), ["org.updated"]),
        "flaky": stored_webhook(deps, org_id, receiver.url(flaky), ["*"]),
        "gone": stored_webhook(deps, org_id, receiver.url(gone), ["org.updated"]),
    }
    stored_webhook(deps, org_id, receiver.url(off), ["org.updated"], enabled=False)
    stored_webhook(deps, org_id, receiver.url(other), ["org.deleted"])
    event = org_updated(deps, org_id)

    response, message_id = invoke(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert [len(receiver.to(p)) for p in (ok, flaky, gone, off, other)] == [1, 1, 1, 0, 0]
    assert attempts_of(deps, hooks["flaky"]) == [(1, 503, "failed_will_retry")]

    # The pipeline's retry: only the webhook that asked for it is called again.
    response, _ = invoke(event)
    assert response == NO_FAILURES
    assert [len(receiver.to(p)) for p in (ok, flaky, gone, off, other)] == [1, 2, 1, 0, 0]
    assert attempts_of(deps, hooks["ok"]) == [(1, 200, "delivered")]
    assert attempts_of(deps, hooks["flaky"]) == [(1, 503, "failed_will_retry"), (2, 204, "delivered")]
    assert attempts_of(deps, hooks["gone"]) == [(1, 404, "failed_permanent")]
    assert {r.headers["plutomi-event-id"] for p in (ok, flaky, gone) for r in receiver.to(p)} == {event.id}

    # Delivered again after success (a redelivery, a redrive): nothing is sent.
    response, _ = invoke(event)
    assert response == NO_FAILURES
    assert [len(receiver.to(p)) for p in (ok, flaky, gone, off, other)] == [1, 2, 1, 0, 0]
    # Even past the consumer's once-per-event record, a settled webhook is not called again.
    outcome = webhooks.deliver(deps, Refusing(), event)
    assert outcome == {"delivered": 0, "failed_permanent": 0, "already_settled": 3, "skipped": 0}


class Refusing:
    """A sender for proving that nothing is sent: it fails the test if called."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        raise AssertionError(f"nothing should be sent, but {url} was called")


def test_an_unreachable_receiver_is_retried_with_the_error_recorded(deps: Dependencies) -> None:
    org_id = unique_org_id("unreachable")
    hook = stored_webhook(deps, org_id, f"http://127.0.0.1:{free_port()}/nobody-listens", ["org.updated"])

    response, message_id = invoke(org_updated(deps, org_id))
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    [attempt] = deps.store.deliveries.list_for_webhook(org_id, hook.id, limit=10)
    assert (attempt.status_code, attempt.outcome, attempt.attempt) == (None, "failed_will_retry", 1)
    # Not "refused": whether a port refused, timed out or spoke something else is not told.
    assert attempt.error == NO_RESPONSE


class Trickling:
    """A receiver whose first connection gets its answer a byte every 0.1 s, for ever (no socket
    timeout ends that: each byte comes in time); later connections get a 204 at once."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/trickle"
        self.connections = 0
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, name="trickling-receiver", daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(
                target=self._answer, args=(connection, self.connections == 1), daemon=True
            ).start()

    def _answer(self, connection: socket.socket, trickle: bool) -> None:
        with connection:
            connection.recv(65536)  # the request (small: one read takes it all)
            if not trickle:
                connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                return
            with contextlib.suppress(OSError):  # the sender hung up
                for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60000):
                    connection.sendall(bytes([byte]))
                    if self._stopped.wait(0.1):
                        return

    def stop(self) -> None:
        self._stopped.set()
        self._server.close()


def test_a_receiver_that_hangs_holds_up_no_other_delivery_and_is_retried(
    deps: Dependencies, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch, one event for an org whose first webhook trickles its answer and whose second
    answers, one event for another org: both answering webhooks get theirs well within the
    delivery deadline, the trickling one is cut off at it and its record fails (retried), and the
    retry reaches it without calling the others again."""
    deadline_s = 3.0
    sender = WebhookSender(deps.resolver, allow_loopback=True, timeout_seconds=deadline_s)
    monkeypatch.setattr(bootstrap, "_webhook_sender", sender)
    trickling = Trickling()
    try:
        org_a, org_b = unique_org_id("hangs"), unique_org_id("beside")
        slow = stored_webhook(deps, org_a, trickling.url, ["org.updated"])  # the oldest: called first
        fine_a, fine_b = receiver.path("fine-a"), receiver.path("fine-b")
        stored_webhook(deps, org_a, receiver.url(fine_a), ["org.updated"])
        stored_webhook(deps, org_b, receiver.url(fine_b), ["org.updated"])
        event_a, event_b = org_updated(deps, org_a), org_updated(deps, org_b)
        records = [sqs_record(event.model_dump_json()) for event in (event_a, event_b)]
        context: Any = LocalContext("consumers.webhooks")
        answers: list[dict[str, Any]] = []
        started = time.monotonic()
        batch = threading.Thread(
            target=lambda: answers.append(webhooks_consumer.handler(sqs_event(records), context))
        )
        batch.start()
        arrived: dict[str, float] = {}
        while len(arrived) < 2 and time.monotonic() - started < 3 * deadline_s:
            for path in (fine_a, fine_b):
                if path not in arrived and receiver.to(path):
                    arrived[path] = time.monotonic() - started
            time.sleep(0.02)
        batch.join(3 * deadline_s)
        took = time.monotonic() - started
        assert set(arrived) == {fine_a, fine_b} and max(arrived.values()) < deadline_s / 2, arrived
        assert answers == [{"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}], took
        assert deadline_s <= took < deadline_s + 2, took
        assert attempts_of(deps, slow) == [(1, None, "failed_will_retry")]

        # The pipeline's retry of event A reaches the receiver that hung, and only it.
        assert invoke(event_a)[0] == NO_FAILURES
        assert attempts_of(deps, slow) == [(1, None, "failed_will_retry"), (2, 204, "delivered")]
        assert (len(receiver.to(fine_a)), len(receiver.to(fine_b)), trickling.connections) == (1, 1, 2)
    finally:
        trickling.stop()


def test_personal_events_and_orgs_without_webhooks_send_nothing(
    deps: Dependencies, receiver: Receiver
) -> None:
    org_id = unique_org_id("quiet")
    path = receiver.path("everything")
    stored_webhook(deps, org_id, receiver.url(path), ["*"])
    code = deps.event(events.TOTP_REQUESTED, None, login_code_request(deps, unique_email()))
    assert invoke(code)[0] == NO_FAILURES
    # Even an event of the org that no webhook of its wants.
    assert invoke(org_updated(deps, unique_org_id("no-hooks")))[0] == NO_FAILURES
    assert receiver.to(path) == []
    # The webhook does get what it wants, webhook-management events included.
    data = {"webhook_id": "whk_x", "url": "https://x", "event_types": ["*"], "by": "usr_x"}
    created = deps.event(events.WEBHOOK_CREATED, org_id, data)
    assert invoke(created)[0] == NO_FAILURES
    assert [r.headers["plutomi-event-type"] for r in receiver.to(path)] == ["webhook.created"]


def test_the_webhook_queries_use_indexes(deps: Dependencies) -> None:
    settings = deps.settings
    recorder = CommandRecorder()
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[recorder], serverSelectionTimeoutMS=3000
    )
    try:
        store = MongoStore(client, settings.mongodb_database)
        org_id = unique_org_id("plans")
        hook = stored_webhook(deps, org_id, "https://example.invalid/plans", ["*"])
        now = deps.clock.now()
        for attempt, outcome in ((1, "failed_will_retry"), (2, "delivered")):
            deps.store.deliveries.record(
                Delivery(
                    id=deps.clock.new_id("dlv"),
                    org_id=org_id,
                    webhook_id=hook.id,
                    event_id="evt_plans",
                    event_type="org.updated",
                    attempt=attempt,
                    status_code=200 if outcome == "delivered" else 500,
                    outcome=outcome,
                    latency_ms=3,
                    created_at=now,
                    updated_at=now,
                )
            )
        recorder.take()
        calls: dict[str, Callable[[], object]] = {
            "webhooks of an org": lambda: store.webhooks.subscribed(org_id, "org.updated"),
            "attempts of a webhook": lambda: store.deliveries.list_for_webhook(
                org_id, hook.id, 10, "dlv_ZZZ"
            ),
            "settled?": lambda: store.deliveries.already_settled(org_id, hook.id, "evt_plans"),
            "attempts so far": lambda: store.deliveries.last_attempt(org_id, hook.id, "evt_plans"),
        }
        results = {}
        for label, call in calls.items():
            results[label] = call()
            [command] = [c for c in recorder.take() if c["name"] in ("find", "aggregate")]
            query = command["filter"] if command["name"] == "find" else command["pipeline"][0]["$match"]
            assert query["org_id"] == {"$eq": org_id}, f"{label}: {query}"
            cursor = deps.store.items.find(query)
            if command.get("sort"):
                cursor = cursor.sort(list(command["sort"].items()))
            explain = cursor.explain()
            assert uses_index(explain), f"{label}: {query} does not use an index: {explain['queryPlanner']}"
        assert results["settled?"] is True and results["attempts so far"] == 2
        listed = results["attempts of a webhook"]
        assert isinstance(listed, list) and sorted(d.attempt for d in listed) == [1, 2]
    finally:
        client.close()
