"""SES feedback end to end against moto's real server: an email is sent, SES feedback is published to
the SNS topic as SES would (`plutomi ses simulate`), SNS delivers it to the SQS queue, the poller feeds
`consumers.ses_feedback` as Lambda's event source mapping would, and the suppression list stops the
next send. Also: a malformed message reaches the queue's DLQ after its receives while the good ones
of its batch are handled, duplicates change nothing, repeated soft bounces suppress, unsubscribe
links work over HTTP, `plutomi migrate` builds the path once, and `plutomi ses stats` reports."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pymongo import MongoClient

from functions.consumers import notifications
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_store import MongoStore
from plutomi.bootstrap import aws_client
from plutomi.config import get_settings
from plutomi.domain import events
from plutomi.domain.email_feedback import (
    FeedbackKind,
    Notification,
    SuppressionReason,
    SuppressionScope,
    parse_notification,
    unsubscribe_token,
)
from plutomi.domain.events import Event
from plutomi.observability import logger, runtime_logger
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.functions import LocalContext
from plutomi.runtime.local_mail import SentEmail, list_sent_emails
from plutomi.runtime.ses_feedback_local import (
    EVENT_DESTINATION,
    BounceType,
    ensure_feedback_pipeline,
    feedback_consumer,
    publish,
    simulate,
)
from plutomi.runtime.sqs_poller import PollResult, SqsPoller
from plutomi.services import email_feedback
from plutomi.services.ports import Dependencies
from tests.conftest import login_code_request, stored_org, unique_email, unique_org_id
from tests.integration.test_store import CommandRecorder, uses_index
from tests.support.cli import run_plutomi
from tests.support.csp import refusals
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack, wait_for_email

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- helpers


@pytest.fixture
def poller(services: dict[str, str]) -> Iterator[SqsPoller]:
    """The poller `plutomi dev` runs, but failures come back at once (no visibility timeout to wait out)."""
    consumer = feedback_consumer()
    polling = SqsPoller.for_consumer(consumer, get_settings(), wait_seconds=0, retry_delay_seconds=0)
    drain(polling)  # whatever an earlier test left
    yield polling
    drain(polling)


def drain(poller: SqsPoller, max_polls: int = 50) -> list[PollResult]:
    """Polls until the queue has nothing to give (a failure comes back until the DLQ takes it)."""
    results: list[PollResult] = []
    for _ in range(max_polls):
        result = poller.poll_once()
        if result.received == 0:
            return results
        results.append(result)
    raise AssertionError(f"the queue did not drain in {max_polls} polls: {results}")


def send_through_consumer(event: Event) -> dict[str, Any]:
    """The notifications consumer, called as Lambda calls it."""
    context: Any = LocalContext("consumers.notifications")
    response: dict[str, Any] = notifications.handler(
        sqs_event([sqs_record(event.model_dump_json())]), context
    )
    return response


def invite_event(deps: Dependencies, email: str) -> Event:
    data = {
        "invite_id": deps.clock.new_id("inv"),
        "email": email,
        "role": "member",
        "org_display_name": "Acme",
        "inviter_email": "owner@example.com",
        "expires_at": deps.clock.now().isoformat(),
    }
    org = stored_org(deps, unique_org_id("acme"))
    return deps.event(events.INVITE_CREATED, org.org_id, data)


def code_event(deps: Dependencies, email: str) -> Event:
    return deps.event(events.TOTP_REQUESTED, None, login_code_request(deps, email))


def sent_to(email: str) -> list[SentEmail]:
    endpoint = get_settings().aws_endpoint_url
    assert endpoint is not None
    return list_sent_emails(endpoint, to=email)


def queue_depth(poller: SqsPoller, queue_url: str | None = None) -> int:
    url = queue_url or poller.queue()[0]
    attributes = poller.client.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def take_from_dlq(poller: SqsPoller, marker: str) -> list[dict[str, Any]]:
    """The DLQ messages whose body contains `marker`, deleted once read."""
    sqs = poller.client
    url = sqs.get_queue_url(QueueName=get_settings().ses_feedback_dlq)["QueueUrl"]
    found: list[dict[str, Any]] = []
    for _ in range(10):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            break
        for message in messages:
            if marker in message.get("Body", ""):
                found.append(dict(message))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
    return found


def capture_logs(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], str]:
    """From now on, everything the handlers and runtimes log, as one string (call the result to read).
    Called in the test body: pytest 9 gives capsys a new stream for the call phase."""
    for log in (logger, runtime_logger):
        handler = log.registered_handler
        assert isinstance(handler, logging.StreamHandler)
        monkeypatch.setattr(handler, "stream", sys.stdout)
    caplog.set_level(logging.INFO)

    def read() -> str:
        output = capsys.readouterr()
        return output.out + output.err + caplog.text

    return read


# ---------------------------------------------------------------------- the whole path


def test_a_bounce_flows_from_sns_to_the_suppression_list_and_the_next_send_is_skipped(
    deps: Dependencies,
    clock: FixedClock,
    poller: SqsPoller,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs = capture_logs(capsys, caplog, monkeypatch)
    settings = get_settings()
    email = unique_email("bounces")
    sent = send_through_consumer(invite_event(deps, email))
    assert sent == {"batchItemFailures": []}
    [invitation] = sent_to(email)
    assert invitation.headers["List-Unsubscribe"].strip().startswith(f"<{settings.base_url}/unsubscribe/")

    notification = simulate(settings, "bounce", email, at=clock.now())
    assert notification["eventType"] == "Bounce"
    assert notification["mail"]["messageId"] == invitation.message_id, "the bounce is about the email sent"
    assert notification["mail"]["tags"]["ses:configuration-set"] == [settings.ses_configuration_set]

    assert drain(poller) == [PollResult(received=1, deleted=1, failed=0)]
    assert queue_depth(poller) == 0, "a handled record is deleted from the queue"
    suppression = deps.store.suppressions.get(email, SuppressionScope.ALL)
    assert suppression is not None
    assert (suppression.reason, suppression.feedback_id, suppression.detail) == (
        SuppressionReason.BOUNCE,
        notification["bounce"]["feedbackId"],
        "Permanent/General",
    )
    [record] = deps.store.email_feedback.for_address(email)
    assert (record.feedback_kind, record.message_id) == (FeedbackKind.PERMANENT_BOUNCE, invitation.message_id)

    # Nothing more reaches the address: not an invite, not even a login code it asks for.
    for event in (invite_event(deps, email), code_event(deps, email)):
        assert send_through_consumer(event) == {"batchItemFailures": []}
    assert len(sent_to(email)) == 1

    logged = logs()
    assert "email skipped: the address is suppressed" in logged and "address suppressed" in logged
    assert email not in logged and email.split("@")[0] not in logged, "addresses are personal data"


def test_a_complaint_suppresses_and_a_delivery_only_records(
    deps: Dependencies, clock: FixedClock, poller: SqsPoller
) -> None:
    settings = get_settings()
    complainer, reader = unique_email("complains"), unique_email("reads")
    simulate(settings, "complaint", complainer, at=clock.now())
    simulate(settings, "delivery", reader, at=clock.now())
    assert drain(poller) == [PollResult(received=2, deleted=2, failed=0)]

    suppression = deps.store.suppressions.blocking(complainer, essential=True)
    assert suppression is not None and suppression.reason is SuppressionReason.COMPLAINT
    assert deps.store.suppressions.blocking(reader, essential=False) is None
    [delivered] = deps.store.email_feedback.for_address(reader)
    assert delivered.feedback_kind is FeedbackKind.DELIVERY
    assert send_through_consumer(code_event(deps, reader)) == {"batchItemFailures": []}
    assert len(sent_to(reader)) == 1
    assert send_through_consumer(code_event(deps, complainer)) == {"batchItemFailures": []}
    assert sent_to(complainer) == []


def test_a_malformed_message_lands_in_the_dlq_and_its_batch_is_handled(
    deps: Dependencies,
    clock: FixedClock,
    poller: SqsPoller,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs = capture_logs(capsys, caplog, monkeypatch)
    settings = get_settings()
    delivered, bounced = unique_email("good-delivery"), unique_email("good-bounce")
    marker = uuid.uuid4().hex
    simulate(settings, "delivery", delivered, at=clock.now())
    publish(settings, f"garbage {marker} from {delivered}")
    simulate(settings, "bounce", bounced, at=clock.now())

    first = poller.poll_once()
    assert first == PollResult(received=3, deleted=2, failed=1), "one record fails, never the batch"
    assert [r.feedback_kind for r in deps.store.email_feedback.for_address(delivered)] == [
        FeedbackKind.DELIVERY
    ]
    assert deps.store.suppressions.get(bounced, SuppressionScope.ALL) is not None

    # Received again until the redrive policy's 5 receives are used up; the 6th receive moves it.
    again = drain(poller)
    assert again == [PollResult(received=1, deleted=0, failed=1)] * (
        feedback_consumer().max_receive_count - 1
    )
    assert queue_depth(poller) == 0
    [dead] = take_from_dlq(poller, marker)
    envelope = json.loads(dead["Body"])
    assert (envelope["Type"], envelope["Message"]) == ("Notification", f"garbage {marker} from {delivered}")
    logged = logs()
    warnings = logged.count('"message":"not an SES notification"')  # the JSON lines the handler wrote
    assert warnings == feedback_consumer().max_receive_count, "one warning per receive"
    assert marker not in logged and delivered not in logged, "a record's body is never logged"


def test_duplicate_notifications_change_nothing(
    deps: Dependencies, clock: FixedClock, poller: SqsPoller
) -> None:
    settings = get_settings()
    email = unique_email("complains-twice")
    notification = simulate(settings, "complaint", email, at=clock.now())
    assert drain(poller) == [PollResult(received=1, deleted=1, failed=0)]
    suppression = deps.store.suppressions.get(email, SuppressionScope.ALL)
    records = deps.store.email_feedback.for_address(email)
    assert suppression is not None and len(records) == 1
    health = email_feedback.sending_health(deps)

    clock.advance(timedelta(hours=1))  # a second write would carry a later time
    publish(settings, json.dumps(notification))  # SNS delivers at least once: the same again,
    publish(settings, json.dumps(notification))  # twice in one batch,
    other_form = {"notificationType": notification["eventType"]} | {
        key: value for key, value in notification.items() if key != "eventType"
    }
    publish(settings, json.dumps(other_form))  # and as the identity's notification, same feedback id
    assert isinstance(parse_notification(other_form), Notification)

    assert drain(poller) == [PollResult(received=3, deleted=3, failed=0)]
    assert deps.store.suppressions.get(email, SuppressionScope.ALL) == suppression
    assert deps.store.email_feedback.for_address(email) == records
    assert email_feedback.sending_health(deps).counts == health.counts


def test_repeated_soft_bounces_within_a_week_suppress(
    deps: Dependencies, clock: FixedClock, poller: SqsPoller
) -> None:
    settings = get_settings()
    flaky, spaced = unique_email("mailbox-full"), unique_email("now-and-then")

    def soft_bounce(email: str, bounce_type: BounceType = "Transient") -> None:
        simulate(
            settings, "bounce", email, at=clock.now(), bounce_type=bounce_type, bounce_subtype="MailboxFull"
        )
        assert drain(poller) == [PollResult(received=1, deleted=1, failed=0)]

    soft_bounce(flaky)
    soft_bounce(spaced)
    clock.advance(timedelta(days=3))
    soft_bounce(flaky, "Undetermined")  # SES could not tell why: counted like a transient bounce
    assert deps.store.suppressions.blocking(flaky, essential=False) is None, "two soft bounces are not enough"
    clock.advance(timedelta(days=1))
    soft_bounce(spaced)
    clock.advance(timedelta(days=2))  # day 6: the third within 7 days
    soft_bounce(flaky)
    suppression = deps.store.suppressions.get(flaky, SuppressionScope.ALL)
    assert suppression is not None and suppression.reason is SuppressionReason.REPEATED_TRANSIENT_BOUNCES
    assert suppression.detail == "Transient/MailboxFull"

    clock.advance(timedelta(days=2))  # day 8: the first of `spaced` is out of the window
    soft_bounce(spaced)
    assert deps.store.suppressions.blocking(spaced, essential=True) is None, "three soft bounces in 8 days"
    assert [r.feedback_kind for r in deps.store.email_feedback.for_address(spaced)] == [
        FeedbackKind.TRANSIENT_BOUNCE
    ] * 3
    assert send_through_consumer(code_event(deps, flaky)) == {"batchItemFailures": []}
    assert sent_to(flaky) == []


def test_the_poller_runs_until_stopped(deps: Dependencies, services: dict[str, str]) -> None:
    """What `plutomi dev` runs: the loop picks up feedback on its own and stops cleanly."""
    polling = SqsPoller.for_consumer(feedback_consumer(), get_settings(), wait_seconds=1)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-poller", daemon=True)
    thread.start()
    try:
        running = asyncio.run_coroutine_threadsafe(polling.run(), loop)
        email = unique_email("polled")
        simulate(get_settings(), "delivery", email)
        deadline = time.monotonic() + 15
        while not deps.store.email_feedback.for_address(email):
            assert time.monotonic() < deadline, "the running poller did not handle the delivery"
            time.sleep(0.1)
        polling.stop()
        running.result(timeout=10)
        assert queue_depth(polling) == 0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


# ---------------------------------------------------------------------- unsubscribe, over HTTP


def unsubscribe_link(mail: SentEmail) -> str:
    header = mail.headers["List-Unsubscribe"].strip()  # a long header is folded onto a second line
    assert header.startswith("<") and header.endswith(">"), header
    url = header[1:-1]
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in mail.text and url in (mail.html or "")
    return urlsplit(url).path


def test_the_unsubscribe_link_stops_invitations_but_not_login_codes(stack: RunningStack) -> None:
    settings = get_settings()
    owner = sign_in(stack.base_url, unique_email("owner"))
    first_org, second_org = unique_org_id("first"), unique_org_id("second")
    for org in (first_org, second_org):
        assert owner.post("/orgs", json={"id": org, "display_name": org}).status_code == 201
    carol, dave = unique_email("carol"), unique_email("dave")
    links = {}
    for person in (carol, dave):
        assert owner.post(f"/orgs/{first_org}/invites", json={"email": person}).status_code == 201
        path = unsubscribe_link(wait_for_email(person, subject_contains="invited you"))
        assert path.startswith("/unsubscribe/") and person not in path and person.split("@")[0] not in path
        links[person] = path

    # Carol follows the link in a browser, twice; Dave's mail client uses one-click (RFC 8058).
    anonymous = httpx.Client(base_url=stack.base_url, timeout=20)
    for _ in range(2):
        answer = anonymous.get(links[carol], headers={"accept": "application/json"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "unsubscribed"}
    page = anonymous.get(links[carol], headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Unsubscribed" in page.text and carol not in page.text and "@" not in page.text
    policy = page.headers["content-security-policy"]
    assert refusals(page.text, policy, f"{stack.base_url}{links[carol]}") == [], (
        "the page works under its CSP"
    )
    one_click = anonymous.post(
        links[dave],
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and one_click.json() == {"status": "unsubscribed"}, one_click.text

    # Links nobody was sent, or made with another key, are refused and say nothing more.
    forged = unsubscribe_token("not-the-secret", carol)
    for path in (f"/unsubscribe/{forged}", "/unsubscribe/" + "0" * 32, "/unsubscribe/not-a-token"):
        for method in ("GET", "POST"):
            refused = anonymous.request(method, path)
            assert refused.status_code == 404, f"{method} {path}: {refused.text}"
            assert refused.json()["error"]["code"] == "unsubscribe_link_not_found"
    assert settings.session_secret != "not-the-secret"

    # Another org's invitation is not sent; the login codes they ask for are (in that order, through
    # the same consumer, so the invitations were handled by the time the codes arrive).
    for person in (carol, dave):
        assert owner.post(f"/orgs/{second_org}/invites", json={"email": person}).status_code == 201
    for person in (carol, dave):
        assert Api(stack.base_url).post("/auth/totp", json={"email": person}).status_code == 202
        code = wait_for_email(person, subject_contains="login code")
        assert unsubscribe_link(code) == links[person], "the same link in every email to the address"
        invitations = [mail for mail in sent_to(person) if "invited you" in mail.subject]
        assert len(invitations) == 1, f"an invitation reached an unsubscribed address: {invitations}"


# ---------------------------------------------------------------------- migrate and the query plans


def test_migrate_builds_the_feedback_path_once(services: dict[str, str]) -> None:
    settings = get_settings()
    said: list[str] = []
    first = ensure_feedback_pipeline(settings, say=said.append)
    again = ensure_feedback_pipeline(settings, say=said.append)
    assert first == again
    assert any("sqs queue" in line for line in said) and any("configuration set" in line for line in said)

    sqs = aws_client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=first.queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=first.dlq_url, AttributeNames=["All"])["Attributes"]
    consumer = feedback_consumer()
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": first.dlq_arn,
        "maxReceiveCount": consumer.max_receive_count,
    }
    assert int(queue["VisibilityTimeout"]) == consumer.visibility_timeout_seconds
    assert int(dlq["MessageRetentionPeriod"]) > int(queue["MessageRetentionPeriod"])

    sns = aws_client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=first.topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("sqs", first.queue_arn)]
    raw = sns.get_subscription_attributes(SubscriptionArn=first.subscription_arn)["Attributes"]
    assert raw.get("RawMessageDelivery", "false") == "false", "SQS gets SNS envelopes"

    ses = aws_client("ses")
    described = ses.describe_configuration_set(
        ConfigurationSetName=settings.ses_configuration_set,
        ConfigurationSetAttributeNames=["eventDestinations"],
    )
    [destination] = described["EventDestinations"]
    assert destination["Name"] == EVENT_DESTINATION and destination["Enabled"]
    assert destination["SNSDestination"]["TopicARN"] == first.topic_arn
    assert {"bounce", "complaint", "delivery"} <= set(destination["MatchingEventTypes"])


def test_the_feedback_queries_use_indexes(deps: Dependencies, clock: FixedClock) -> None:
    settings = deps.settings
    recorder = CommandRecorder()
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[recorder], serverSelectionTimeoutMS=3000
    )
    try:
        store = MongoStore(client, settings.mongodb_database)
        now = clock.now()
        calls = {
            "soft bounces of an address": lambda: store.email_feedback.count_for_address(
                "someone@example.com", [FeedbackKind.TRANSIENT_BOUNCE], now - timedelta(days=7), now, up_to=3
            ),
            "feedback by kind": lambda: store.email_feedback.count_by_kind(now - timedelta(days=7), now),
            "suppression check": lambda: store.suppressions.blocking("someone@example.com", essential=False),
            "unsubscribe link": lambda: store.unsubscribe_links.email_for("0" * 32),
        }
        for label, call in calls.items():
            recorder.take()
            call()
            commands = recorder.take()
            filters = [c["filter"] for c in commands if c["name"] == "find"]
            filters += [c["pipeline"][0]["$match"] for c in commands if c["name"] == "aggregate"]
            assert filters, f"{label}: no query seen in {commands}"
            for query in filters:
                explain = deps.store.items.find(query).explain()
                assert uses_index(explain), (
                    f"{label}: {query} does not use an index: {explain['queryPlanner']}"
                )
    finally:
        client.close()


# ---------------------------------------------------------------------- plutomi ses stats


def feedback(section: str, recipients: list[str], at: datetime, **bounce: str) -> Notification:
    """A notification about many recipients at once (SES sends one per email; the counting is the same)."""
    stamp = at.isoformat()
    mail = {"messageId": f"0100{uuid.uuid4().hex}-000000"}
    if section == "delivery":
        document: dict[str, Any] = {
            "eventType": "Delivery",
            "mail": mail,
            "delivery": {"timestamp": stamp, "recipients": recipients},
        }
    elif section == "complaint":
        document = {
            "eventType": "Complaint",
            "mail": mail,
            "complaint": {
                "timestamp": stamp,
                "feedbackId": uuid.uuid4().hex,
                "complainedRecipients": [{"emailAddress": r} for r in recipients],
            },
        }
    else:
        document = {
            "eventType": "Bounce",
            "mail": mail,
            "bounce": {
                "timestamp": stamp,
                "feedbackId": uuid.uuid4().hex,
                "bouncedRecipients": [{"emailAddress": r} for r in recipients],
                **bounce,
            },
        }
    parsed = parse_notification(document)
    assert isinstance(parsed, Notification)
    return parsed


def test_ses_stats_reports_rates_against_the_thresholds(deps: Dependencies) -> None:
    """In a database of its own, so other tests' feedback does not move the figures."""
    database = f"plutomi_stats_{uuid.uuid4().hex[:8]}"
    store = MongoStore.connect(deps.settings.mongodb_url, database)
    try:
        store.create_indexes()
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        own = replace(
            deps,
            store=store,
            clock=FixedClock(now),
            settings=replace(deps.settings, mongodb_database=database),
        )

        def addresses(n: int) -> list[str]:
            return [unique_email("stats") for _ in range(n)]

        for notification in (
            feedback("delivery", addresses(188), now),
            feedback("bounce", addresses(6), now, bounceType="Permanent"),
            feedback("bounce", addresses(4), now, bounceType="Transient"),
            feedback("bounce", addresses(2), now, bounceType="Undetermined"),
            feedback("complaint", addresses(2), now),
            feedback("bounce", addresses(1), now - timedelta(days=8), bounceType="Permanent"),
        ):
            email_feedback.handle_notification(own, notification)

        health = email_feedback.sending_health(own, days=7)
        assert health.sends == 200
        assert (
            health.bounce_rate.value == pytest.approx(0.03) and health.bounce_rate.status.value == "warning"
        )
        assert (
            health.complaint_rate.value == pytest.approx(0.01)
            and health.complaint_rate.status.value == "pause"
        )

        env = dict(os.environ) | {"MONGODB_DATABASE": database}
        week = run_plutomi("ses", "stats", env=env)
        assert week.returncode == 2, week.stdout + week.stderr
        lines = week.stdout.splitlines()
        assert lines[0].startswith("SES sending health, last 7 days")
        assert lines[1] == (
            "emails with an outcome: 200 (188 delivered, 12 bounced: 6 permanent, 4 transient, "
            "2 undetermined); 2 complaints"
        )
        [bounce_line] = [line for line in lines if line.startswith("bounce rate")]
        assert "3.00%" in bounce_line and "(6 permanent bounces)" in bounce_line
        assert "warning at 2.5%, review at 5%, pause at 10%: WARNING" in bounce_line
        [complaint_line] = [line for line in lines if line.startswith("complaint rate")]
        assert "1.00%" in complaint_line and "review at 0.1%, pause at 0.5%: PAUSE" in complaint_line
        assert any(line.startswith("WARNING: the bounce rate (3.00%) is approaching") for line in lines)
        assert any(line.startswith("PAUSE: the complaint rate (1.00%)") for line in lines)
        assert "@" not in week.stdout

        month = run_plutomi("ses", "stats", "--days", "30", env=env)
        assert "emails with an outcome: 201 " in month.stdout and "(7 permanent bounces)" in month.stdout
        refused = run_plutomi("ses", "stats", "--days", "0", env=env)
        assert refused.returncode != 0 and "--days must be at least 1" in refused.stderr
    finally:
        store.client.drop_database(database)
        store.client.close()
