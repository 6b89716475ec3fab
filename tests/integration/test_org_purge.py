"""Purging a deleted org against nx-27017: everything that carries its id goes, whatever its type (one
the code has never heard of included), the org's unpublished events stay until published, other orgs
are untouched, a purge stopped or crashed halfway is finished by the next run, and the id is refused
until the purge has finished and free afterwards. The queries the purge sends use indexes.

The use cases run against a database of their own: when the suite also runs the stack, its relay and
consumers (the `org-purge` consumer among them) work on the main database and must not race these
tests, which drive every step themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from pymongo import MongoClient

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_idempotency import MongoIdempotencyStore, record_org
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain import events
from plutomi.domain.delivery import AttemptError
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.errors import Conflict, NotFound
from plutomi.domain.events import Event
from plutomi.domain.models import Role, Session, User
from plutomi.domain.pipeline import ApplicationStatus
from plutomi.domain.webhooks import SendResult, Webhook
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.functions import LocalContext
from plutomi.services import (
    applicants,
    applications,
    dead_letters,
    invites,
    notifications,
    org_purge,
    orgs,
    webhooks,
)
from plutomi.services.auth import Principal
from plutomi.services.ports import Dependencies
from tests.conftest import unique_client, unique_email, unique_org_id
from tests.integration.test_store import CommandRecorder, uses_index

Document = dict[str, Any]


def always() -> bool:
    return True


@pytest.fixture
def store_deps(clock: FixedClock) -> Iterator[Dependencies]:
    """The use cases' dependencies with the test's fixed clock and a database of this test's own."""
    base = bootstrap.dependencies()
    name = f"{base.settings.mongodb_database}_purge_{uuid.uuid4().hex[:8]}"
    store = MongoStore(base.store.client, name)
    store.create_indexes()
    try:
        yield Dependencies(store=store, event_bus=base.event_bus, clock=clock, settings=base.settings)
    finally:
        base.store.client.drop_database(name)


def person(deps: Dependencies, label: str) -> Principal:
    now = deps.clock.now()
    user = User(
        id=deps.clock.new_id("usr"),
        email=unique_email(label),
        email_verified_at=now,
        created_at=now,
        updated_at=now,
    )
    deps.store.users.create(user)
    session = Session(
        id=deps.clock.new_id("ses"),
        user_id=user.id,
        secret_hash="not-used",
        expires_at=now + timedelta(days=1),
        created_at=now,
        updated_at=now,
    )
    return Principal(user=user, session=session)


@dataclass
class Tenant:
    org_id: str
    owner: Principal
    application_id: str
    applicant_id: str
    portal_token: str
    invitee: Principal


def tenant(deps: Dependencies, label: str) -> Tenant:
    """An org with an open application (a stage with a question), an applicant who answered, a portal
    link, a pending invite, a webhook, and records of its events (outbox, idempotency, attempt errors),
    plus a document of a type no code knows."""
    owner = person(deps, f"{label}-owner")
    org_id = unique_org_id(label)
    orgs.create_org(deps, owner, org_id, f"Org {label}")
    application = applications.create_application(deps, owner, org_id, "Drivers", "Vans").application
    stage = applications.create_stage(deps, owner, org_id, application.id, "Questionnaire", None).stages[0]
    question = applications.add_question(
        deps, owner, org_id, application.id, stage.id, {"type": "text", "title": "Why?"}, None
    ).questions[0]
    applications.update_application(deps, owner, org_id, application.id, status=ApplicationStatus.OPEN)
    email = unique_email(f"{label}-ann")
    applicants.apply(deps, org_id, application.id, email, "Ann", "Applicant", unique_client())
    applicant = deps.store.applicants.get_by_email(org_id, application.id, email)
    assert applicant is not None
    issued = applicants.issue_portal_link(deps, org_id, applicant.id)
    assert issued is not None
    token = issued[2].rsplit("/", 1)[1]
    applicants.submit_answers(deps, token, {question.id: "I like vans"})
    invitee = person(deps, f"{label}-invitee")
    invites.create_invite(deps, owner, org_id, invitee.user.email, Role.MEMBER, 3)
    now = deps.clock.now()
    deps.store.webhooks.create(
        Webhook(
            id=deps.clock.new_id("whk"),
            org_id=org_id,
            url="https://hooks.example.com/plutomi",
            event_types=["*"],
            secret="whsec_test",
            created_by=owner.user.id,
            created_at=now,
            updated_at=now,
        )
    )
    # What consumers leave behind about the org's events: an idempotency record and an attempt error
    # (`test_records_of_an_orgs_events_carry_its_id` checks the consumer wrapper writes them so).
    event = deps.event(events.APPLICANT_MOVED, org_id, moved(applicant.id, application.id))
    idempotency = MongoIdempotencyStore(lambda: deps.store.items)
    idempotency.configure(IdempotencyConfig(event_key_jmespath="id"), f"purge-test-{uuid.uuid4().hex[:6]}")
    token_org = record_org.set(org_id)
    try:
        idempotency.save_inprogress(event.model_dump(mode="json"), remaining_time_in_millis=30_000)
    finally:
        record_org.reset(token_org)
    failure = AttemptError(
        consumer="webhooks",
        event_id=event.id,
        tier="webhooks",
        attempt=1,
        error_type="RuntimeError",
        message="the receiver is down",
        at=now,
    )
    dead_letters.record_failure(deps, failure, org_id)
    # A kind of document nobody has written code for yet: it carries the org id, so it must go too.
    deps.store.items.insert_one(
        {"_id": f"zzz_{uuid.uuid4().hex}", "type": "never_heard_of", "org_id": org_id, "secret": label}
    )
    return Tenant(org_id, owner, application.id, applicant.id, token, invitee)


def documents_of(deps: Dependencies, org_id: str) -> list[Document]:
    return list(deps.store.items.find({"org_id": {"$eq": org_id}}))


def types_of(documents: list[Document]) -> set[str]:
    return {str(document["type"]) for document in documents}


def publish(deps: Dependencies, org_id: str) -> None:
    """What the relay does (none reads this database): marks the org's pending events sent."""
    pending = deps.store.items.find({"org_id": {"$eq": org_id}, "pending_since_ms": {"$gte": 0}})
    deps.store.outbox.mark_sent([document["_id"] for document in pending], deps.clock.now())


def assert_gone_for_every_reader(deps: Dependencies, world: Tenant) -> None:
    org_id = world.org_id
    assert orgs.live_org(deps, org_id) is None
    with pytest.raises(NotFound):
        orgs.get_org(deps, world.owner, org_id)
    assert orgs.list_my_orgs(deps, world.owner) == []
    with pytest.raises(NotFound):
        applications.list_applications(deps, world.owner, org_id)
    assert applicants.list_public_applications(deps, org_id) == []
    with pytest.raises(NotFound):
        applicants.public_application(deps, org_id, world.application_id)
    with pytest.raises(NotFound):
        applicants.apply(
            deps, org_id, world.application_id, unique_email("late"), "Late", "Comer", unique_client()
        )
    with pytest.raises(NotFound):
        applicants.portal(deps, world.portal_token)
    with pytest.raises(NotFound):
        applicants.submit_answers(deps, world.portal_token, {"qst_any": "more"})
    assert applicants.issue_portal_link(deps, org_id, world.applicant_id) is None
    assert invites.list_my_invites(deps, world.invitee) == []
    for answer in (invites.accept_invite, invites.decline_invite):
        with pytest.raises(NotFound):
            answer(deps, world.invitee, _invite_id(deps, org_id))
    # Consumers: no email and no webhook for the org's events, not even for `org.deleted`.
    sent: dict[str, dict[str, Any]] = {
        events.APPLICANT_LINK_REQUESTED: {
            "applicant_id": world.applicant_id,
            "application_id": world.application_id,
        },
        events.INVITE_CREATED: {
            "invite_id": _invite_id(deps, org_id),
            "email": world.invitee.user.email,
            "role": "member",
            "org_display_name": "x",
            "inviter_email": world.owner.user.email,
            "expires_at": deps.clock.now().isoformat(),
        },
        events.ORG_DELETED: {"org_id": org_id, "by": world.owner.user.id},
    }
    for event_type, data in sent.items():
        event = deps.event(event_type, org_id, data)
        assert notifications.notify(event, NoMail(), deps) is None
        assert webhooks.deliver(deps, NoPosts(), event).get("org_gone") == 1


def moved(applicant_id: str, application_id: str) -> dict[str, Any]:
    """`applicant.moved` data, as a recruiter's move emits them."""
    return {
        "applicant_id": applicant_id,
        "application_id": application_id,
        "from_stage_id": "stg_first",
        "to_stage_id": "stg_second",
        "by": {"kind": "user", "id": "usr_recruiter"},
        "send_email": True,
    }


def _invite_id(deps: Dependencies, org_id: str) -> str:
    found = deps.store.items.find_one({"org_id": {"$eq": org_id}, "type": {"$eq": "invite"}})
    assert found is not None
    return str(found["_id"])


class NoMail:
    def send(self, email: Any) -> str:
        raise AssertionError(f"no email may be sent for a deleted org: {email}")


class NoPosts:
    def post(self, url: str, body: bytes, headers: Any) -> SendResult:
        raise AssertionError(f"no webhook may be called for a deleted org: {url}")


def test_deleting_an_org_purges_every_document_of_it_and_nothing_else(store_deps: Dependencies) -> None:
    deps, clock = store_deps, store_deps.clock
    assert isinstance(clock, FixedClock)
    doomed, other = tenant(deps, "doomed"), tenant(deps, "other")
    before = types_of(documents_of(deps, doomed.org_id))
    assert {
        "org",
        "membership",
        "application",
        "stage",
        "applicant",
        "invite",
        "webhook",
        "outbox_event",
        "idempotency",
        "attempt_error",
        "never_heard_of",
    } <= before, before
    others_before = sorted(documents_of(deps, other.org_id), key=lambda d: str(d["_id"]))

    orgs.delete_org(deps, doomed.owner, doomed.org_id)
    assert_gone_for_every_reader(deps, doomed)
    successor = person(deps, "successor")
    with pytest.raises(Conflict) as refused:
        orgs.create_org(deps, successor, doomed.org_id, "Mine now")
    assert refused.value.code == "org_being_deleted"

    # The purge removes everything at once but the tombstone and the events not yet published (the
    # `org.deleted` event above all), and waits out the grace period before freeing the id.
    kept = [d for d in documents_of(deps, doomed.org_id) if d["type"] == "org" or "pending_since_ms" in d]
    to_go = len(documents_of(deps, doomed.org_id)) - len(kept)
    first = org_purge.purge_org(deps, doomed.org_id, always)
    assert (first.outcome, first.deleted) == ("waiting", to_go)
    left = documents_of(deps, doomed.org_id)
    assert types_of(left) == {"org", "outbox_event"}, left
    assert all(d["pending_since_ms"] >= 0 for d in left if d["type"] == "outbox_event")
    assert any(d["event"]["type"] == events.ORG_DELETED for d in left if d["type"] == "outbox_event")
    publish(deps, doomed.org_id)
    clock.advance(org_purge.GRACE)
    with pytest.raises(Conflict):
        orgs.create_org(deps, successor, doomed.org_id, "Mine now")
    assert org_purge.purge_org(deps, doomed.org_id, always).outcome == "finished"
    assert documents_of(deps, doomed.org_id) == []
    assert org_purge.purge_org(deps, doomed.org_id, always).outcome == "not_deleted"

    # The other org was not touched.
    assert sorted(documents_of(deps, other.org_id), key=lambda d: str(d["_id"])) == others_before
    assert applicants.portal(deps, other.portal_token).applicant.answers

    # The id is free again, and whoever takes it finds nothing of the old org.
    orgs.create_org(deps, successor, doomed.org_id, "Mine now")
    assert applications.list_applications(deps, successor, doomed.org_id) == []
    assert applicants.list_public_applications(deps, doomed.org_id) == []
    assert invites.list_org_invites(deps, successor, doomed.org_id) == []
    assert webhooks.list_webhooks(deps, successor, doomed.org_id) == []
    assert [m.user_id for m in deps.store.memberships.list_for_org(doomed.org_id)] == [successor.user.id]
    with pytest.raises(NotFound):
        applicants.get_applicant(deps, successor, doomed.org_id, doomed.applicant_id)
    with pytest.raises(NotFound):
        applicants.portal(deps, doomed.portal_token)
    # An old event of the earlier org, delivered late, reaches neither email nor webhooks.
    old = Event(
        id=deps.clock.new_id("evt"),
        type=events.APPLICANT_LINK_REQUESTED,
        org_id=doomed.org_id,
        occurred_at=clock.now() - timedelta(minutes=10),
        data={"applicant_id": doomed.applicant_id},
    )
    assert notifications.notify(old, NoMail(), deps) is None
    assert webhooks.deliver(deps, NoPosts(), old).get("org_gone") == 1


def test_records_of_an_orgs_events_carry_its_id(deps: Dependencies) -> None:
    """The consumer wrapper stamps the event's org on its idempotency record and on each failed
    attempt's error, so purging the org finds them by `org_id` like everything else."""
    org_id = unique_org_id("stamped")
    event = deps.event(events.APPLICANT_MOVED, org_id, moved("apl_x", "app_x"))
    record = sqs_event([sqs_record(event.model_dump_json())])
    context: Any = LocalContext("consumers.test")
    ok = consumer_handler(f"stamp-ok-{uuid.uuid4().hex[:6]}", lambda _: {"ok": True})
    assert ok(record, context) == {"batchItemFailures": []}

    def fail(_: Event) -> dict[str, Any]:
        raise RuntimeError("the receiver is down")

    failing = consumer_handler(f"stamp-fail-{uuid.uuid4().hex[:6]}", fail)
    assert failing(record, context)["batchItemFailures"]
    stamped = deps.store.items.find({"org_id": {"$eq": org_id}})
    assert sorted(str(d["type"]) for d in stamped) == ["attempt_error", "idempotency"]


def tombstoned_org_with(deps: Dependencies, count: int) -> tuple[str, Principal]:
    """A deleted org holding `count` documents of an unknown type (and its published events)."""
    owner = person(deps, "big")
    org_id = unique_org_id("big")
    orgs.create_org(deps, owner, org_id, "Big")
    deps.store.items.insert_many(
        [{"_id": f"bulk_{uuid.uuid4().hex}", "type": "bulk", "org_id": org_id, "n": n} for n in range(count)]
    )
    orgs.delete_org(deps, owner, org_id)
    publish(deps, org_id)
    return org_id, owner


def test_a_purge_that_crashed_halfway_is_finished_by_the_sweeper(store_deps: Dependencies) -> None:
    deps, clock = store_deps, store_deps.clock
    assert isinstance(clock, FixedClock)
    org_id, _ = tombstoned_org_with(deps, 2 * org_purge.BATCH_SIZE + 150)
    bystander = tenant(deps, "bystander")
    bystanders = len(documents_of(deps, bystander.org_id))

    # A purger takes the org, deletes one batch and dies: no release, its lease just runs out.
    purge, now = deps.store.org_purge, epoch_ms(clock.now())
    assert purge.take_lease(org_id, "prg_crashed", now, now + epoch_ms_of(org_purge.LEASE))
    assert purge.delete_batch(org_id, org_purge.BATCH_SIZE) == (org_purge.BATCH_SIZE, org_purge.BATCH_SIZE)
    remaining = len(documents_of(deps, org_id))
    assert remaining > org_purge.BATCH_SIZE

    # While its lease holds, nobody else purges the org (not the consumer, not the sweeper).
    assert org_purge.purge_org(deps, org_id, always).outcome == "busy"
    swept = org_purge.sweep(deps, always)
    assert swept.unfinished >= 1 and len(documents_of(deps, org_id)) == remaining

    # Once it has run out, the next sweep takes over and finishes; the id is free after the grace.
    clock.advance(org_purge.LEASE + timedelta(seconds=1))
    org_purge.sweep(deps, always)
    assert [d["_id"] for d in documents_of(deps, org_id)] == [f"org_{org_id}"]
    clock.advance(org_purge.GRACE)
    org_purge.sweep(deps, always)
    assert documents_of(deps, org_id) == []
    assert len(documents_of(deps, bystander.org_id)) == bystanders


def epoch_ms_of(period: timedelta) -> int:
    return int(period.total_seconds() * 1000)


def test_a_purge_out_of_time_or_failing_halfway_resumes_where_it_stopped(store_deps: Dependencies) -> None:
    deps, clock = store_deps, store_deps.clock
    assert isinstance(clock, FixedClock)
    org_id, _ = tombstoned_org_with(deps, 3 * org_purge.BATCH_SIZE)
    clock.advance(org_purge.GRACE)
    total = len(documents_of(deps, org_id)) - 1  # all but the tombstone

    # Out of time after the first batch: paused, and the claim is released for the next run.
    paused = org_purge.purge_org(deps, org_id, lambda: False)
    assert (paused.outcome, paused.deleted) == ("paused", org_purge.BATCH_SIZE)
    assert len(documents_of(deps, org_id)) == 1 + total - org_purge.BATCH_SIZE

    # An error after the next batch (the store went away, the function was killed): it surfaces, and
    # what is left stays for the next run, which may start at once (the claim was released).
    def fails() -> bool:
        raise ConnectionError("MongoDB went away")

    with pytest.raises(ConnectionError):
        org_purge.purge_org(deps, org_id, fails)
    assert len(documents_of(deps, org_id)) == 1 + total - 2 * org_purge.BATCH_SIZE
    result = org_purge.purge_org(deps, org_id, always)
    assert (result.outcome, result.deleted) == ("finished", total - 2 * org_purge.BATCH_SIZE)
    assert documents_of(deps, org_id) == []


def test_migrate_queues_data_that_outlived_its_org_for_the_purge(store_deps: Dependencies) -> None:
    """Orgs deleted before deleting purged left their data behind, under an id anyone may take: the
    migration gives each such id a tombstone, so the purge removes the data and the id waits."""
    deps, clock = store_deps, store_deps.clock
    assert isinstance(clock, FixedClock)
    orphan = unique_org_id("orphan")
    deps.store.items.insert_many(
        [
            {"_id": f"apl_{uuid.uuid4().hex}", "type": "applicant", "org_id": orphan, "email": "a@x.test"},
            {"_id": f"zzz_{uuid.uuid4().hex}", "type": "never_heard_of", "org_id": orphan},
        ]
    )
    live = tenant(deps, "alive")
    live_documents = len(documents_of(deps, live.org_id))

    assert deps.store.org_purge.tombstone_orphans(clock.now()) == [orphan]
    assert deps.store.org_purge.tombstone_orphans(clock.now()) == []
    with pytest.raises(Conflict) as refused:
        orgs.create_org(deps, person(deps, "squatter"), orphan, "Mine")
    assert refused.value.code == "org_being_deleted"
    clock.advance(org_purge.GRACE)
    assert org_purge.sweep(deps, always).finished >= 1
    assert documents_of(deps, orphan) == []
    assert len(documents_of(deps, live.org_id)) == live_documents
    assert orgs.live_org(deps, live.org_id) is not None


def test_the_purge_uses_indexes(store_deps: Dependencies) -> None:
    deps = store_deps
    org_id, _ = tombstoned_org_with(deps, 20)
    recorder = CommandRecorder()
    client: MongoClient[Document] = MongoClient(
        deps.settings.mongodb_url, tz_aware=True, event_listeners=[recorder], serverSelectionTimeoutMS=3000
    )
    try:
        recorded = bootstrap_with(deps, MongoStore(client, deps.store.items.database.name))
        org_purge.sweep(recorded, always)
        org_purge.purge_org(recorded, org_id, always)
        recorded.store.org_purge.tombstone_orphans(deps.clock.now())
        finds = [c for c in recorder.take() if c["name"] == "find"]
        assert any("purge_pending_ms" in c["filter"] for c in finds)  # the sweep's tombstones
        assert any("org_id" in c["filter"] and "pending_since_ms" in c["filter"] for c in finds)
        assert any(c["filter"] == {"org_id": {"$gt": ""}} for c in finds)  # the migration's scan
        for command in finds:
            cursor = deps.store.items.find(command["filter"])
            if command.get("sort"):
                cursor = cursor.sort(list(command["sort"].items()))
            explain = cursor.explain()
            assert uses_index(explain), f"{command['filter']} does not use an index: {explain}"
    finally:
        client.close()


def bootstrap_with(deps: Dependencies, store: MongoStore) -> Dependencies:
    return Dependencies(store=store, event_bus=deps.event_bus, clock=deps.clock, settings=deps.settings)


@pytest.fixture(autouse=True)
def _no_leftover_overrides() -> Iterator[None]:
    yield
    bootstrap.reset()
