"""The notifications consumer, called as Lambda calls it: SQS-shaped batches, real moto SES, and the
idempotency records in nx-27017. The bridge is not involved."""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any

import pytest

from functions.consumers import notifications
from plutomi.domain import events
from plutomi.domain.applicants import Applicant
from plutomi.domain.events import Event
from plutomi.domain.models import Org
from plutomi.domain.pipeline import Application, ApplicationStatus
from plutomi.observability import logger
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.functions import LocalContext
from plutomi.runtime.local_mail import SentEmail, list_sent_emails
from plutomi.services import auth
from plutomi.services.ports import Dependencies
from tests.conftest import login_code_request, stored_org, unique_email, unique_org_id
from tests.support.http import code_from


def invoke(*bodies: str, message_ids: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    ids = message_ids or [str(uuid.uuid4()) for _ in bodies]
    records = [sqs_record(body, message_id=mid) for body, mid in zip(bodies, ids, strict=True)]
    context: Any = LocalContext("consumers.notifications")  # Lambda's context object, as run locally
    response = notifications.handler(sqs_event(records), context)
    return response, ids


def sent_to(deps: Dependencies, email: str) -> list[SentEmail]:
    endpoint = deps.settings.aws_endpoint_url
    assert endpoint is not None
    return list_sent_emails(endpoint, to=email)


def code_event(deps: Dependencies, email: str) -> Event:
    """What POST /auth/totp leaves in the outbox: no code; the consumer issues one."""
    return deps.event(events.TOTP_REQUESTED, None, login_code_request(deps, email))


NO_FAILURES: dict[str, Any] = {"batchItemFailures": []}


def test_an_event_delivered_twice_sends_one_email(deps: Dependencies) -> None:
    email = unique_email("twice")
    body = code_event(deps, email).model_dump_json()

    assert invoke(body)[0] == NO_FAILURES
    assert invoke(body)[0] == NO_FAILURES  # redelivered: a new messageId, the same event id
    assert len(sent_to(deps, email)) == 1


def test_an_event_twice_in_one_batch_sends_one_email(deps: Dependencies) -> None:
    email = unique_email("batched")
    body = code_event(deps, email).model_dump_json()

    response, ids = invoke(body, body)
    assert ids[0] != ids[1]
    assert response == NO_FAILURES
    assert len(sent_to(deps, email)) == 1


def test_distinct_events_each_send_their_email(deps: Dependencies) -> None:
    email = unique_email("two-codes")
    first, second = code_event(deps, email), code_event(deps, email)

    assert invoke(first.model_dump_json(), second.model_dump_json())[0] == NO_FAILURES
    codes = [code_from(mail.text) for mail in sent_to(deps, email)]
    assert len(codes) == 2 and codes[0] != codes[1]
    for code in codes:  # each emailed code is a live one, usable once
        assert auth.verify_login_code(deps, email, code, "127.0.0.1").user.email == email


def test_an_invite_sends_an_email_naming_the_org(deps: Dependencies) -> None:
    email, org_id = unique_email("invited"), unique_org_id("crew")
    org_name = f"Night Owls {uuid.uuid4().hex[:6]}"
    stored_org(deps, org_id, org_name)  # nobody is emailed about an org that does not exist
    event = deps.event(
        events.INVITE_CREATED,
        org_id,
        {
            "invite_id": deps.clock.new_id("inv"),
            "email": email,
            "role": "admin",
            "org_display_name": org_name,
            "inviter_email": "ada@example.com",
            "expires_at": deps.clock.now().isoformat(),
        },
    )

    assert invoke(event.model_dump_json())[0] == NO_FAILURES
    [mail] = sent_to(deps, email)
    assert org_name in mail.subject and org_name in mail.text and org_name in (mail.html or "")
    assert "ada@example.com" in mail.text and "admin" in mail.text
    assert f"{deps.settings.base_url}/invitations" in mail.text


def test_events_without_an_email_are_acknowledged_and_ignored(deps: Dependencies) -> None:
    org_id, watcher = unique_org_id("quiet"), unique_email("watcher")
    # Even with an address in its data, an event this consumer has no email for sends nothing.
    data = {"org_id": org_id, "display_name": watcher, "by": "usr_x"}
    event = deps.event(events.ORG_CREATED, org_id, data)

    assert invoke(event.model_dump_json())[0] == NO_FAILURES
    assert sent_to(deps, watcher) == []


def test_a_malformed_record_fails_alone(deps: Dependencies) -> None:
    email = unique_email("survivor")
    good = code_event(deps, email).model_dump_json()

    response, (bad_id, _) = invoke("not json", good)
    assert response == {"batchItemFailures": [{"itemIdentifier": bad_id}]}
    assert len(sent_to(deps, email)) == 1

    response, (_, bad_id) = invoke(good, '{"id": "evt_x", "type": "totp.requested"}')
    assert response == {"batchItemFailures": [{"itemIdentifier": bad_id}]}
    assert len(sent_to(deps, email)) == 1  # the good one was a redelivery: still one email


def test_the_code_is_in_the_email_and_never_in_the_logs(
    deps: Dependencies,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Powertools handler holds the stream it found at import; point it at the captured stdout.
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", sys.stdout)
    caplog.set_level(logging.INFO)

    email = unique_email("secret")
    event = code_event(deps, email)
    broken = event.model_dump_json(exclude={"occurred_at"})
    response, (_, broken_id) = invoke(event.model_dump_json(), broken)
    assert response == {"batchItemFailures": [{"itemIdentifier": broken_id}]}

    [mail] = sent_to(deps, email)
    code = code_from(mail.text)
    assert mail.html is not None and code in mail.html

    output = capsys.readouterr()
    logged = output.out + output.err + caplog.text
    assert event.id in output.out, "the consumer's log line was not captured"
    assert code not in logged
    assert code.lower() not in logged.lower()


# ---------------------------------------------------------------------- names stored before the text rules

# What an org or application could be called before names were checked: a header injection, control
# characters, a bidi override, a byte order mark.
HOSTILE = "\r\nBcc: victim@example.com\r\nX-Injected: yes\x00\x07\x1b[2J\u202e\ufeff"
VICTIM = "victim@example.com"


def assert_clean(deps: Dependencies, mail: SentEmail, to: str, event: Event) -> None:
    """One recipient, no injected header, the name on one line, and no failure kept for the DLQ."""
    assert mail.to == (to,), mail.to
    names = {name.lower() for name in mail.headers}
    assert not names & {"bcc", "cc", "x-injected"}, mail.headers
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert "Bcc: victim@example.com X-Injected: yes" in mail.subject
    for part in (mail.subject, mail.text, mail.html or ""):
        assert not any(char in part for char in "\x00\x07\x1b\u202e\ufeff"), repr(part)
    assert deps.store.attempt_errors.for_event("notifications", event.id) == []


def test_an_invite_to_an_org_with_a_hostile_stored_name_is_sent_cleanly(deps: Dependencies) -> None:
    email, org_id = unique_email("invited-hostile"), unique_org_id("hostile")
    now = deps.clock.now()
    # Written straight into MongoDB, as an org created before names were checked would be.
    deps.store.orgs.create(
        Org(
            id=f"org_{org_id}",
            org_id=org_id,
            display_name=f"Night Owls{HOSTILE} 🦉 שלום",
            created_by="usr_x",
            created_at=now,
            updated_at=now,
        )
    )
    stored = deps.store.orgs.get(org_id)
    assert stored is not None and "\r\nBcc:" in stored.display_name
    event = deps.event(
        events.INVITE_CREATED,
        org_id,
        {  # what invites.create_invite emits: the org's display name as stored
            "invite_id": deps.clock.new_id("inv"),
            "email": email,
            "role": "admin",
            "org_display_name": stored.display_name,
            "inviter_email": "ada@example.com",
            "expires_at": now.isoformat(),
        },
    )

    assert invoke(event.model_dump_json())[0] == NO_FAILURES
    [mail] = sent_to(deps, email)
    assert_clean(deps, mail, email, event)
    assert "Night Owls Bcc: victim@example.com" in mail.text and "🦉 שלום" in mail.subject
    assert "<bdi>Night Owls Bcc: victim@example.com X-Injected: yes [2J 🦉 שלום</bdi>" in (mail.html or "")
    assert sent_to(deps, VICTIM) == []


@pytest.mark.parametrize("kind", [events.APPLICANT_CREATED, events.APPLICANT_LINK_REQUESTED])
def test_a_portal_link_for_a_hostile_stored_application_is_sent_cleanly(
    deps: Dependencies, kind: str
) -> None:
    email, org_id = unique_email("applicant-hostile"), unique_org_id("hostile-app")
    stored_org(deps, org_id, f"Night Owls{HOSTILE}")
    now = deps.clock.now()
    application = Application(
        id=deps.clock.new_id("app"),
        org_id=org_id,
        name=f"Drivers{HOSTILE}" + " long" * 500,
        status=ApplicationStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    deps.store.applications.create(application)
    applicant = Applicant(
        id=deps.clock.new_id("apl"),
        org_id=org_id,
        application_id=application.id,
        email=email,
        first_name=f"Ann{HOSTILE}",
        last_name="O'Hara\u2066",
        stage_id=None,
        stage_entered_at=None,
        created_at=now,
        updated_at=now,
    )
    deps.store.applicants.create(applicant)
    data = {"applicant_id": applicant.id, "application_id": application.id}
    if kind == events.APPLICANT_CREATED:
        data["stage_id"] = "stg_first"
    event = deps.event(kind, org_id, data)

    assert invoke(event.model_dump_json())[0] == NO_FAILURES
    [mail] = sent_to(deps, email)
    assert_clean(deps, mail, email, event)
    assert mail.subject.startswith("Your application: Drivers Bcc: victim@example.com")
    assert len(mail.subject) <= 200 and mail.subject.endswith("\u2026")
    assert mail.text.startswith("Hi Ann Bcc: victim@example.com X-Injected: yes [2J,")
    assert f"{deps.settings.base_url}/portal/{applicant.id}." in mail.text
    assert sent_to(deps, VICTIM) == []


def test_a_stored_address_that_cannot_be_sent_to_is_skipped_not_dead_lettered(deps: Dependencies) -> None:
    org_id = unique_org_id("bad-address")
    stored_org(deps, org_id)
    now = deps.clock.now()
    application = Application(
        id=deps.clock.new_id("app"), org_id=org_id, name="Drivers", created_at=now, updated_at=now
    )
    deps.store.applications.create(application)
    applicant = Applicant(
        id=deps.clock.new_id("apl"),
        org_id=org_id,
        application_id=application.id,
        email=f"ann\r\nbcc:{VICTIM}@example.com",
        first_name="Ann",
        last_name="A",
        stage_id=None,
        stage_entered_at=None,
        created_at=now,
        updated_at=now,
    )
    deps.store.applicants.create(applicant)
    event = deps.event(
        events.APPLICANT_CREATED,
        org_id,
        {"applicant_id": applicant.id, "application_id": application.id, "stage_id": "stg_first"},
    )

    response, _ = invoke(event.model_dump_json())
    assert response == NO_FAILURES
    assert deps.store.attempt_errors.for_event("notifications", event.id) == []
    assert sent_to(deps, VICTIM) == []
