"""Nothing that runs per request, event or delivery counts documents.

nx-27017 answers a count (pymongo's `count_documents` is an `aggregate` with `$group`) by reading the
whole collection under its single lock, whatever the filter, so a count on a hot path slows every
process sharing the store as the data grows. These tests drive the hot paths through a store whose
client reports every command it sends and fail on any count: a `count` command, or an `aggregate`
with a `$group` or `$count` stage. What may count (an operator's command, the message of a refusal)
goes through `Repository._count_all_cold_path_only`; the refusal below shows that it still does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from pymongo import MongoClient

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain.email_feedback import TRANSIENT_BOUNCE_LIMIT, SuppressionReason
from plutomi.domain.errors import Conflict
from plutomi.domain.pipeline import ApplicationStatus
from plutomi.domain.webhooks import MAX_WEBHOOKS_PER_ORG
from plutomi.runtime.relay import OutboxRelay
from plutomi.services import applicants, applications, email_feedback, orgs, webhooks
from plutomi.services.ports import Dependencies
from tests.conftest import unique_client, unique_email, unique_org_id
from tests.integration.test_org_purge import person
from tests.integration.test_ses_feedback import feedback
from tests.integration.test_store import CommandRecorder
from tests.integration.test_webhooks import Receiver, attempts_of, invoke, org_updated, stored_webhook


@dataclass
class Watched:
    deps: Dependencies  # what `bootstrap.dependencies()` gives every use case and consumer now
    recorder: CommandRecorder

    def commands(self) -> list[dict[str, Any]]:
        return self.recorder.take()


def counts(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def counting_stage(stage: dict[str, Any]) -> bool:
        return "$group" in stage or "$count" in stage

    return [
        command
        for command in commands
        if command["name"] == "count"
        or (command["name"] == "aggregate" and any(counting_stage(s) for s in command["pipeline"]))
    ]


def written(commands: list[dict[str, Any]]) -> set[str]:
    """The write commands seen: proof that the listener watched the store the code used."""
    return {command["name"] for command in commands if command["name"] in ("insert", "update", "delete")}


@pytest.fixture
def watched(clock: FixedClock) -> Iterator[Watched]:
    """Every use case and consumer in this process uses a store whose client reports its commands."""
    recorder = CommandRecorder()
    settings = bootstrap.dependencies().settings
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[recorder], serverSelectionTimeoutMS=3000
    )
    bootstrap.override(store=MongoStore(client, settings.mongodb_database), clock=clock)
    try:
        yield Watched(bootstrap.dependencies(), recorder)
    finally:
        bootstrap.reset()
        client.close()


def test_a_webhook_delivery_and_its_retry_count_nothing(watched: Watched) -> None:
    deps = watched.deps
    org_id = unique_org_id("hot-webhooks")
    receiver = Receiver()
    try:
        path = receiver.path("flaky", 503, 200)
        hook = stored_webhook(deps, org_id, receiver.url(path), ["org.updated"])
        other = stored_webhook(deps, org_id, receiver.url(receiver.path("steady")), ["*"])
        event = org_updated(deps, org_id)
        watched.commands()

        first, message_id = invoke(event)
        second, _ = invoke(event)
    finally:
        receiver.stop()

    commands = watched.commands()
    assert counts(commands) == []
    assert "insert" in written(commands)
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert second == {"batchItemFailures": []}
    # The attempt numbers of the deliveries log are what they were when they were counted.
    assert attempts_of(deps, hook) == [(1, 503, "failed_will_retry"), (2, 200, "delivered")]
    assert attempts_of(deps, other) == [(1, 200, "delivered")]
    assert len(receiver.to(path)) == 2


def test_applying_moving_and_emptying_stages_count_nothing(watched: Watched) -> None:
    deps = watched.deps
    owner = person(deps, "hot-pipeline")
    org_id = unique_org_id("hot-pipeline")
    orgs.create_org(deps, owner, org_id, "Hot paths")
    application_id = applications.create_application(deps, owner, org_id, "Drivers", "Vans").application.id
    for name in ("Applied", "Interview", "Spare"):
        design = applications.create_stage(deps, owner, org_id, application_id, name, None)
    first, second, spare = design.stages
    applications.update_application(deps, owner, org_id, application_id, status=ApplicationStatus.OPEN)
    empty_application = applications.create_application(deps, owner, org_id, "Unused", "").application.id
    email = unique_email("hot-applicant")
    watched.commands()

    applicants.apply(deps, org_id, application_id, email, "Ann", "Applicant", unique_client())
    applicant = deps.store.applicants.get_by_email(org_id, application_id, email)
    assert applicant is not None and applicant.stage_id == first.id
    applicants.move_applicant(deps, owner, org_id, applicant.id, first.id, second.id)
    applications.delete_stage(deps, owner, org_id, application_id, spare.id, None)
    design = applications.delete_stage(deps, owner, org_id, application_id, second.id, first.id)
    applications.delete_application(deps, owner, org_id, empty_application)

    commands = watched.commands()
    assert counts(commands) == []
    assert {"insert", "update", "delete"} <= written(commands)
    assert [stage.id for stage in design.stages] == [first.id]
    moved = deps.store.applicants.get(org_id, applicant.id)
    assert moved is not None and moved.stage_id == first.id
    assert deps.store.applications.get(org_id, empty_application) is None

    # A refusal still says how many: the one place a count is allowed, and it is seen here.
    with pytest.raises(Conflict, match=r"^1 applicant\(s\) belong to this application") as refused:
        applications.delete_application(deps, owner, org_id, application_id)
    assert refused.value.code == "application_has_applicants"
    assert len(counts(watched.commands())) == 1


def test_creating_webhooks_up_to_the_limit_counts_nothing(watched: Watched) -> None:
    deps = watched.deps
    owner = person(deps, "hot-limit")
    org_id = unique_org_id("hot-limit")
    orgs.create_org(deps, owner, org_id, "Many webhooks")
    url = "http://127.0.0.1:9/hooks"  # loopback is allowed in tests; nothing is delivered here
    watched.commands()

    for _ in range(MAX_WEBHOOKS_PER_ORG):
        webhooks.create_webhook(deps, owner, org_id, url, ["org.updated"])
    with pytest.raises(Conflict) as refused:
        webhooks.create_webhook(deps, owner, org_id, url, ["org.updated"])

    commands = watched.commands()
    assert counts(commands) == []
    assert "insert" in written(commands)
    assert refused.value.code == "too_many_webhooks"
    assert len(deps.store.webhooks.list_for_org(org_id)) == MAX_WEBHOOKS_PER_ORG


def test_the_relay_and_its_pending_check_count_nothing(watched: Watched) -> None:
    deps = watched.deps
    owner = person(deps, "hot-relay")
    org_id = unique_org_id("hot-relay")
    orgs.create_org(deps, owner, org_id, "Relayed")  # leaves its `org.created` event pending
    watched.commands()

    assert deps.store.outbox.any_pending()
    relay = OutboxRelay(deps.store, deps.settings.nats_url, idle_poll_seconds=0.05)

    def relay_polled() -> bool:
        """Whether it asked for its next batch (the running stack's own relay may publish first)."""
        seen = list(watched.recorder.commands)
        return any("pending_since_ms" in c.get("filter", {}) and c.get("sort") for c in seen)

    async def publish_until_idle() -> None:
        running = asyncio.create_task(relay.run())
        deadline = asyncio.get_running_loop().time() + 15
        while not (relay_polled() and not deps.store.outbox.any_pending()) and not running.done():
            assert asyncio.get_running_loop().time() < deadline, f"the relay is stuck: {relay.counters}"
            await asyncio.sleep(0.05)
        relay.stop()
        await running

    asyncio.run(publish_until_idle())

    assert relay_polled()
    assert counts(watched.commands()) == []
    assert not deps.store.outbox.any_pending()


def test_repeated_soft_bounces_suppress_without_counting(watched: Watched, clock: FixedClock) -> None:
    deps = watched.deps
    address = unique_email("hot-mailbox-full")
    watched.commands()

    for _ in range(TRANSIENT_BOUNCE_LIMIT):
        notification = feedback(
            "bounce", [address], clock.now(), bounceType="Transient", bounceSubType="MailboxFull"
        )
        outcome = email_feedback.handle_notification(deps, notification)
        clock.advance(timedelta(hours=1))

    commands = watched.commands()
    assert counts(commands) == []
    assert "insert" in written(commands)
    assert outcome["suppressed"] == 1
    blocked = deps.store.suppressions.blocking(address, essential=True)
    assert blocked is not None and blocked.reason is SuppressionReason.REPEATED_TRANSIENT_BOUNCES
