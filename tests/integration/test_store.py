"""The MongoDB store against nx-27017: types at the boundary, unique keys, tenant isolation, and the
query plans of every listing the store relies on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient, monitoring

from plutomi.adapters.mongo_base import to_document, where
from plutomi.adapters.mongo_indexes import ITEMS_INDEXES
from plutomi.adapters.mongo_pipeline import Applicants
from plutomi.adapters.mongo_store import MongoStore
from plutomi.domain.applicants import Applicant
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.errors import DuplicateItem
from plutomi.domain.models import (
    Invite,
    InviteStatus,
    Item,
    LoginCode,
    Membership,
    Org,
    Role,
    Session,
    User,
)
from plutomi.services.ports import Dependencies
from tests.conftest import unique_email, unique_org_id

# ---------------------------------------------------------------------- helpers

NX_INDEX_SEARCH = re.compile(r"^SEARCH \S+ USING (?:COVERING )?INDEX ")
NX_FULL_SCAN = re.compile(r"^SCAN (?!json_each\b)\S+")  # a whole table (or whole index) read


def _stages(plan: Any) -> Iterator[str]:
    if isinstance(plan, dict):
        if isinstance(plan.get("stage"), str):
            yield plan["stage"]
        for value in plan.values():
            yield from _stages(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from _stages(value)


def uses_index(explain: dict[str, Any]) -> bool:
    """Whether the winning plan reads through an index and never scans the whole collection.

    nx-27017 reports SQLite's plan as a list of `{"detail": "SEARCH items USING INDEX ..."}` steps;
    MongoDB reports a tree of stages (classic `winningPlan`, or `winningPlan.queryPlan` for SBE).
    """
    winning = explain.get("queryPlanner", {}).get("winningPlan")
    if isinstance(winning, list) and all(isinstance(step, dict) and "detail" in step for step in winning):
        details = [str(step["detail"]) for step in winning]
        return any(NX_INDEX_SEARCH.match(d) for d in details) and not any(
            NX_FULL_SCAN.match(d) for d in details
        )
    stages = set(_stages(winning))
    index_stages = {"IXSCAN", "IDHACK", "EXPRESS_IXSCAN", "EXPRESS_IDHACK", "DISTINCT_SCAN"}
    return bool(stages & index_stages) and "COLLSCAN" not in stages


def assert_utc_times(item: Item) -> None:
    for name, value in item:
        if isinstance(value, datetime):
            assert value.tzinfo is not None, f"{type(item).__name__}.{name} is naive: {value!r}"
            assert value.utcoffset() == timedelta(0), f"{type(item).__name__}.{name} is not UTC"


@dataclass
class Tenant:
    org: Org
    owner: User
    membership: Membership
    invite: Invite


def make_user(deps: Dependencies, now: datetime, email: str | None = None) -> User:
    user = User(
        id=deps.clock.new_id("usr"),
        email=email or unique_email("store"),
        email_verified_at=now,
        created_at=now,
        updated_at=now,
    )
    deps.store.users.create(user)
    return user


def make_org(deps: Dependencies, now: datetime, owner: User) -> Org:
    org_id = unique_org_id("store")
    org = Org(
        id=f"org_{org_id}",
        org_id=org_id,
        display_name=f"Org {org_id}",
        created_by=owner.id,
        created_at=now,
        updated_at=now,
    )
    deps.store.orgs.create(org)
    return org


def make_membership(deps: Dependencies, now: datetime, org: Org, user: User, role: Role) -> Membership:
    membership = Membership(
        id=deps.clock.new_id("mem"),
        org_id=org.org_id,
        user_id=user.id,
        email=user.email,
        role=role,
        created_at=now,
        updated_at=now,
    )
    deps.store.memberships.create(membership)
    return membership


def make_invite(
    deps: Dependencies, now: datetime, org: Org, inviter: User, email: str, days: int = 7
) -> Invite:
    invite = Invite(
        id=deps.clock.new_id("inv"),
        org_id=org.org_id,
        email=email,
        role=Role.MEMBER,
        invited_by=inviter.id,
        org_display_name=org.display_name,
        expires_at=now + timedelta(days=days),
        created_at=now,
        updated_at=now,
    )
    deps.store.invites.create(invite)
    return invite


def make_tenant(deps: Dependencies, now: datetime) -> Tenant:
    owner = make_user(deps, now)
    org = make_org(deps, now, owner)
    membership = make_membership(deps, now, org, owner, Role.OWNER)
    invite = make_invite(deps, now, org, owner, unique_email("invitee"))
    return Tenant(org, owner, membership, invite)


# ---------------------------------------------------------------------- round trips


def test_models_round_trip_with_their_types(deps: Dependencies) -> None:
    now = deps.clock.now()
    later = now + timedelta(minutes=3)
    tenant = make_tenant(deps, now)
    store = deps.store

    user = store.users.get(tenant.owner.id)
    assert user == tenant.owner
    assert store.users.get_by_email(tenant.owner.email) == tenant.owner
    assert store.orgs.get(tenant.org.org_id) == tenant.org
    membership = store.memberships.get(tenant.org.org_id, tenant.owner.id)
    assert membership == tenant.membership and type(membership.role) is Role
    invite = store.invites.get(tenant.org.org_id, tenant.invite.id)
    assert invite == tenant.invite and type(invite.status) is InviteStatus and type(invite.role) is Role

    session = Session(
        id=deps.clock.new_id("ses"),
        user_id=tenant.owner.id,
        secret_hash="f" * 64,
        expires_at=now + timedelta(days=7),
        created_at=now,
        updated_at=now,
    )
    store.sessions.create(session)
    assert store.sessions.get(session.id) == session

    code = LoginCode(
        id=deps.clock.new_id("otp"),
        email=tenant.owner.email,
        code_hash="e" * 64,
        expires_at=now + timedelta(minutes=5),
        created_at=now,
        updated_at=now,
    )
    store.login_codes.create(code)
    assert store.login_codes.live_for(tenant.owner.email, now) == [code]
    for item in (user, membership, invite, session, code, tenant.org):
        assert item is not None
        assert_utc_times(item)

    # Values written by updates (`$set`, `$inc`) come back with their types too.
    updated = store.users.update(tenant.owner.id, later, first_name="Ada", email_verified_at=later)
    assert updated is not None and updated.first_name == "Ada"
    assert updated.updated_at == later and updated.email_verified_at == later
    store.sessions.revoke(session.id, later)
    store.login_codes.count_failed_attempt(code.id, later, 5)
    org = store.orgs.update(tenant.org.org_id, later, display_name="Renamed")
    role_changed = store.memberships.set_role(tenant.org.org_id, tenant.owner.id, Role.ADMIN, later)
    declined = store.invites.respond(tenant.org.org_id, tenant.invite.id, InviteStatus.DECLINED, later)

    reread_user = store.users.get(tenant.owner.id)
    revoked = store.sessions.get(session.id)
    [counted] = store.login_codes.live_for(tenant.owner.email, later)
    assert reread_user is not None and reread_user.email_verified_at == later
    assert revoked is not None and revoked.revoked_at == later
    assert type(counted.attempts) is int and counted.attempts == 1
    assert org is not None and org.display_name == "Renamed" and org.updated_at == later
    assert role_changed is not None and type(role_changed.role) is Role and role_changed.role is Role.ADMIN
    assert declined is not None and declined.status is InviteStatus.DECLINED
    assert declined.responded_at == later
    for item in (updated, reread_user, revoked, counted, org, role_changed, declined):
        assert_utc_times(item)

    assert store.login_codes.consume(code.id, later, 5)
    assert not store.login_codes.consume(code.id, later, 5)
    assert store.login_codes.live_for(tenant.owner.email, later) == []


# ---------------------------------------------------------------------- unique keys


def test_one_user_per_email(deps: Dependencies) -> None:
    now = deps.clock.now()
    first = make_user(deps, now)
    with pytest.raises(DuplicateItem):
        make_user(deps, now, email=first.email)
    assert deps.store.users.get_by_email(first.email) == first


def test_one_membership_per_org_and_user(deps: Dependencies) -> None:
    now = deps.clock.now()
    tenant = make_tenant(deps, now)
    with pytest.raises(DuplicateItem):
        make_membership(deps, now, tenant.org, tenant.owner, Role.MEMBER)
    assert [m.id for m in deps.store.memberships.list_for_org(tenant.org.org_id)] == [tenant.membership.id]

    other = make_org(deps, now, tenant.owner)  # the same person may belong to another org
    make_membership(deps, now, other, tenant.owner, Role.MEMBER)


def test_one_pending_invite_per_org_and_email(deps: Dependencies) -> None:
    now = deps.clock.now()
    tenant = make_tenant(deps, now)
    org, owner, email = tenant.org, tenant.owner, tenant.invite.email

    with pytest.raises(DuplicateItem):
        make_invite(deps, now, org, owner, email)
    make_invite(deps, now, make_org(deps, now, owner), owner, email)  # another org may invite them

    responded = deps.store.invites.respond(org.org_id, tenant.invite.id, InviteStatus.DECLINED, now)
    assert responded is not None
    second = make_invite(deps, now, org, owner, email, days=1)

    deps.store.invites.expire_pending(org.org_id, email, now)  # not expired yet: keeps its slot
    with pytest.raises(DuplicateItem):
        make_invite(deps, now, org, owner, email)

    expired_at = now + timedelta(days=1)
    deps.store.invites.expire_pending(org.org_id, email, expired_at)
    canceled = deps.store.invites.get(org.org_id, second.id)
    assert canceled is not None and canceled.status is InviteStatus.CANCELED
    third = make_invite(deps, expired_at, org, owner, email)
    assert [i.id for i in deps.store.invites.list_for_org(org.org_id)] == [third.id]


# ---------------------------------------------------------------------- tenant isolation


def test_org_scoped_reads_never_return_another_orgs_documents(deps: Dependencies) -> None:
    now = deps.clock.now()
    a, b = make_tenant(deps, now), make_tenant(deps, now)
    memberships, invites = deps.store.memberships, deps.store.invites
    org_a, org_b = a.org.org_id, b.org.org_id

    assert memberships.get(org_a, a.owner.id) == a.membership
    assert memberships.get(org_b, a.owner.id) is None
    assert invites.get(org_a, a.invite.id) == a.invite
    assert invites.get(org_b, a.invite.id) is None
    assert memberships.list_for_org(org_a) == [a.membership]
    assert memberships.list_for_org(org_b) == [b.membership]
    assert invites.list_for_org(org_a) == [a.invite]
    assert invites.list_for_org(org_b) == [b.invite]

    # Writes named with the wrong org touch nothing.
    assert memberships.set_role(org_b, a.owner.id, Role.MEMBER, now) is None
    assert not memberships.delete(org_b, a.owner.id)
    assert invites.respond(org_b, a.invite.id, InviteStatus.CANCELED, now) is None
    assert memberships.get(org_a, a.owner.id) == a.membership
    assert invites.get(org_a, a.invite.id) == a.invite


# ---------------------------------------------------------------------- indexes and query plans


@dataclass
class CommandRecorder(monitoring.CommandListener):
    commands: list[dict[str, Any]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append({"name": event.command_name, **event.command})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def take(self) -> list[dict[str, Any]]:
        taken, self.commands = self.commands, []
        return taken


def test_uses_index_tells_a_scan_from_an_index(deps: Dependencies) -> None:
    assert not uses_index(deps.store.items.find(where(display_name="nobody")).explain())
    assert uses_index(deps.store.items.find(where(unique_key="user-email:nobody")).explain())
    assert uses_index(
        {"queryPlanner": {"winningPlan": {"stage": "FETCH", "inputStage": {"stage": "IXSCAN"}}}}
    )
    assert uses_index(
        {
            "queryPlanner": {
                "winningPlan": {"queryPlan": {"stage": "FETCH", "inputStage": {"stage": "IXSCAN"}}}
            }
        }
    )
    assert not uses_index(
        {"queryPlanner": {"winningPlan": {"stage": "SORT", "inputStage": {"stage": "COLLSCAN"}}}}
    )


def test_every_listing_query_uses_an_index(deps: Dependencies) -> None:
    """Runs the store's own queries, records the filters and sorts it sent, and explains each one."""
    settings = deps.settings
    recorder = CommandRecorder()
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[recorder], serverSelectionTimeoutMS=3000
    )
    try:
        store = MongoStore(client, settings.mongodb_database)
        now = deps.clock.now()
        tenant = make_tenant(deps, now)
        org_id, user_id, email = tenant.org.org_id, tenant.owner.id, tenant.invite.email
        recorder.take()

        calls: dict[str, tuple[Any, set[str]]] = {
            "memberships by org": (lambda: store.memberships.list_for_org(org_id), {"type", "org_id"}),
            "memberships by user": (lambda: store.memberships.list_for_user(user_id), {"type", "user_id"}),
            "membership of org and user": (lambda: store.memberships.get(org_id, user_id), {"org_id"}),
            "invites by org": (lambda: store.invites.list_for_org(org_id), {"type", "org_id"}),
            "pending invites for email": (
                lambda: store.invites.list_pending_for_email(email, now),
                {"type", "email", "expires_at"},
            ),
            "live login codes for email": (
                lambda: store.login_codes.live_for(tenant.owner.email, now),
                {"type", "email", "expires_at"},
            ),
            "user by email": (lambda: store.users.get_by_email(tenant.owner.email), {"unique_key"}),
            "active applicants of an application": (
                lambda: store.applicants.page(org_id, "app_x", None, "apl_0", 26),
                {"type", "org_id", "application_id", "status"},
            ),
            "rejected applicants of a stage": (
                lambda: store.applicants.page(org_id, "app_x", "stg_x", None, 26, ApplicantStatus.REJECTED),
                {"type", "org_id", "application_id", "stage_id", "status"},
            ),
            "applicants of any status": (
                lambda: store.applicants.page(org_id, "app_x", None, None, 26, None),
                {"type", "org_id", "application_id"},
            ),
            "rejection reasons of an org": (
                lambda: store.rejection_reasons.list_for_org(org_id),
                {"type", "org_id"},
            ),
            "an applicant's documents": (
                lambda: store.documents.for_applicant(org_id, "apl_01JEXAMPLE"),
                {"type", "org_id", "applicant_id"},
            ),
            "expired pending uploads": (
                lambda: store.documents.expired_pending(now, 10),
                {"upload_expires_ms"},
            ),
        }
        for label, (call, fields) in calls.items():
            call()
            finds = [c for c in recorder.take() if c["name"] == "find"]
            assert len(finds) == 1, f"{label}: expected one find, got {finds}"
            query: dict[str, Any] = finds[0]["filter"]
            assert fields <= set(query), f"{label}: {query} does not filter on {fields}"
            cursor = deps.store.items.find(query)
            if finds[0].get("sort"):
                cursor = cursor.sort(list(finds[0]["sort"].items()))
            explain = cursor.explain()
            assert uses_index(explain), f"{label}: {query} does not use an index: {explain['queryPlanner']}"

        # The sweep that frees an expired invite's pending slot.
        store.invites.expire_pending(org_id, email, now)
        [update] = [c for c in recorder.take() if c["name"] == "update"]
        query = update["updates"][0]["q"]
        explain = deps.store.items.find(query).explain()
        assert uses_index(explain), f"expire_pending: {query} does not use an index"
    finally:
        client.close()


def test_migrate_created_every_index_and_creating_them_again_is_harmless(deps: Dependencies) -> None:
    def indexes() -> dict[tuple[tuple[str, int], ...], dict[str, Any]]:
        return {tuple(ix["key"].items()): dict(ix) for ix in deps.store.items.list_indexes()}

    existing = indexes()
    for spec in ITEMS_INDEXES:
        assert spec.keys in existing, f"index {spec.name} {spec.keys} is missing: {list(existing)}"
        if spec.options.get("unique"):
            assert existing[spec.keys].get("unique"), f"index {spec.name} is not unique"

    assert len(deps.store.create_indexes()) == len(ITEMS_INDEXES)
    assert len(deps.store.create_indexes()) == len(ITEMS_INDEXES)
    assert indexes().keys() == existing.keys()


def test_sorted_listings_come_back_oldest_first(deps: Dependencies) -> None:
    now = deps.clock.now()
    tenant = make_tenant(deps, now)
    members = [tenant.membership]
    for minutes in (2, 1, 3):
        joined = now + timedelta(minutes=minutes)
        members.append(make_membership(deps, joined, tenant.org, make_user(deps, joined), Role.MEMBER))
    expected = sorted(members, key=lambda m: m.created_at)
    assert deps.store.memberships.list_for_org(tenant.org.org_id) == expected
    assert [m.id for m in deps.store.memberships.list_for_user(tenant.owner.id)] == [tenant.membership.id]


def test_migrate_gives_applicants_from_before_decisions_the_active_status(deps: Dependencies) -> None:
    now = deps.clock.now()
    org_id = unique_org_id("backfill")
    stored = {}
    for label, status in (("old", None), ("rejected", ApplicantStatus.REJECTED)):
        applicant = Applicant(
            id=deps.clock.new_id("apl"),
            org_id=org_id,
            application_id="app_x",
            email=unique_email(label),
            first_name=label,
            last_name="",
            stage_id="stg_x",
            stage_entered_at=now,
            created_at=now,
            updated_at=now,
            status=status or ApplicantStatus.ACTIVE,
            version=2,
        )
        document = to_document(applicant, **Applicants.index_fields(applicant))
        if status is None:  # as written before applicants had a status
            del document["status"], document["decisions"]
        deps.store.items.insert_one(document)
        stored[label] = applicant.id
    assert deps.store.applicants.page(org_id, "app_x", None, None, 10) == []  # the index misses it

    assert deps.store.applicants.backfill_status() >= 1
    old = deps.store.applicants.get(org_id, stored["old"])
    rejected = deps.store.applicants.get(org_id, stored["rejected"])
    assert old is not None and (old.status, old.version) == (ApplicantStatus.ACTIVE, 3)
    assert rejected is not None and (rejected.status, rejected.version) == (ApplicantStatus.REJECTED, 2)
    assert [a.id for a in deps.store.applicants.page(org_id, "app_x", None, None, 10)] == [stored["old"]]
    assert deps.store.applicants.backfill_status() == 0
