"""Hostile text in events never fails a consumer: the webhooks consumer, called as Lambda calls it,
delivers events whose data carries whatever names could hold (stored before the text rules, or
allowed by them: long text, emoji, right-to-left scripts, combining marks), byte for byte and signed.
The notifications consumer's side is in test_notifications_consumer.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from functions.consumers import webhooks as webhooks_consumer
from plutomi.domain import events
from plutomi.domain.events import Event
from plutomi.domain.webhooks import SendResult, Webhook, verify_signature
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.functions import LocalContext
from plutomi.services.ports import Dependencies
from tests.conftest import stored_org, unique_org_id

NO_FAILURES: dict[str, Any] = {"batchItemFailures": []}
HOSTILE_NAMES = [
    "Night Owls\r\nBcc: victim@example.com\r\nX-Injected: yes",  # stored before the rules
    "\x00\x01\x07\x1b[2J\x7f\x85\x9f",
    "invoice\u202efdp.exe \u2066isolated\u2069 \ufeff",
    "👩\u200d👩\u200d👧\u200d👦 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f 😀" * 50,
    "שלום עולם مرحبا بالعالم",
    "Z\u0351\u0352\u0353\u0354a\u0355\u0356l\u0357g\u0358o" * 200,
    "\U0010ffff\ufffe\uffff",
    "x" * 200_000,
]


class Recording:
    """Stands in for the network: records each delivery and answers 200."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        self.sent.append((url, body, dict(headers)))
        return SendResult(200, 1, None)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Recording:
    sender = Recording()
    monkeypatch.setattr(webhooks_consumer, "webhook_sender", lambda: sender)
    return sender


def invoke(event: Event) -> dict[str, Any]:
    context: Any = LocalContext("consumers.webhooks")
    record = sqs_record(event.model_dump_json(), message_id=str(uuid.uuid4()))
    response: dict[str, Any] = webhooks_consumer.handler(sqs_event([record]), context)
    return response


def stored_webhook(deps: Dependencies, org_id: str) -> Webhook:
    now = deps.clock.now() - timedelta(seconds=1)
    webhook = Webhook(
        id=deps.clock.new_id("whk"),
        org_id=org_id,
        url="https://hooks.example.com/plutomi",
        event_types=["*"],
        description="Hooks\r\n\x00\u202e",  # stored before the rules: never sent, never a problem
        secret=f"whsec_{uuid.uuid4().hex}",
        created_by="usr_test",
        created_at=now,
        updated_at=now,
    )
    deps.store.webhooks.create(webhook)
    return webhook


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[f"name-{i}" for i in range(len(HOSTILE_NAMES))])
def test_the_webhooks_consumer_delivers_hostile_text_intact_and_signed(
    deps: Dependencies, recording: Recording, name: str
) -> None:
    org_id = unique_org_id("hostile-hooks")
    stored_org(deps, org_id)
    webhook = stored_webhook(deps, org_id)
    event = deps.event(events.APPLICATION_CREATED, org_id, {"application_id": "app_x", "name": name})

    assert invoke(event) == NO_FAILURES
    [(url, body, headers)] = recording.sent
    assert url == webhook.url
    assert json.loads(body)["data"]["name"] == name  # the receiver gets exactly what was stored
    body.decode("utf-8")  # valid UTF-8 JSON
    timestamp = int(headers["Plutomi-Signature"].split(",")[0].removeprefix("t="))
    assert verify_signature(webhook.secret, headers["Plutomi-Signature"], body, timestamp)
    assert all("\r" not in v and "\n" not in v for v in headers.values())
    assert deps.store.attempt_errors.for_event("webhooks", event.id) == []
    [delivery] = deps.store.deliveries.list_for_webhook(org_id, webhook.id, limit=5)
    assert delivery.outcome == "delivered"
