"""The MongoDB store: one `items` collection, pydantic models in and out.

Every tenant-owned read takes an `org_id` and puts it in the filter; no method reads another org's
documents. The repositories for the applicant pipeline live in `mongo_pipeline`, those for webhooks
in `mongo_webhooks`, those for email feedback (suppressions, unsubscribe links) in `mongo_suppressions`,
an org's email templates in `mongo_email_templates`.

A store builds each of those repositories on first use, importing its module then: a function loads
the repositories (and their models) that it uses and no others, which its cold start pays for.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from plutomi.adapters.mongo_base import Document, Repository, SafeWrites, current_session, to_document, where
from plutomi.adapters.mongo_purge import LEASE_UNTIL, PURGE_PENDING, tombstone_id
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.models import (
    Invite,
    InviteStatus,
    LoginCode,
    Membership,
    Org,
    Role,
    Session,
    SlotClaim,
    User,
)

if TYPE_CHECKING:
    from plutomi.adapters.mongo_attempts import AttemptErrors
    from plutomi.adapters.mongo_documents import Documents
    from plutomi.adapters.mongo_email_templates import EmailTemplates
    from plutomi.adapters.mongo_idempotency import IdempotencyRecords
    from plutomi.adapters.mongo_outbox import Outbox
    from plutomi.adapters.mongo_pipeline import Applicants, Applications, RejectionReasons, Stages
    from plutomi.adapters.mongo_purge import OrgPurge
    from plutomi.adapters.mongo_stage_counts import StageCounts
    from plutomi.adapters.mongo_suppressions import FeedbackRecords, Suppressions, UnsubscribeLinks
    from plutomi.adapters.mongo_webhooks import Deliveries, Webhooks


class Users(Repository):
    def create(self, user: User) -> None:
        self._insert(user, unique_key=f"user-email:{user.email}")

    def get(self, user_id: str) -> User | None:
        return self._find_one(User, where(_id=user_id, type=User.TYPE))

    def get_by_email(self, email: str) -> User | None:
        return self._find_one(User, where(unique_key=f"user-email:{email}"))

    def update(self, user_id: str, now: datetime, **changes: Any) -> User | None:
        return self._update(
            User, where(_id=user_id, type=User.TYPE), {"$set": {**changes, "updated_at": now}}
        )


class Sessions(Repository):
    def create(self, session: Session) -> None:
        self._insert(session)

    def get(self, session_id: str) -> Session | None:
        return self._find_one(Session, where(_id=session_id, type=Session.TYPE))

    def revoke(self, session_id: str, now: datetime) -> None:
        self._items.update_one(
            where(_id=session_id, type=Session.TYPE, revoked_at=None),
            {"$set": {"revoked_at": now, "updated_at": now}},
        )


class LoginCodes(Repository):
    def create(self, code: LoginCode) -> None:
        self._insert(code)

    def live_for(self, email: str, now: datetime) -> list[LoginCode]:
        query = where(type=LoginCode.TYPE, email=email, expires_at={"$gt": now})
        return [code for code in self._find(LoginCode, query, [("expires_at", 1)]) if code.used_at is None]

    def count_failed_attempt(self, code_id: str, now: datetime, max_attempts: int) -> LoginCode | None:
        """Counts a wrong guess against the code; the code as it is now, None when it was dead already."""
        return self._update(
            LoginCode,
            where(_id=code_id, type=LoginCode.TYPE, attempts={"$lt": max_attempts}),
            {"$inc": {"attempts": 1}, "$set": {"updated_at": now}},
        )

    def consume(self, code_id: str, now: datetime, max_attempts: int) -> bool:
        """Marks the code used; False when someone else used it first or it was locked meanwhile."""
        result = self._items.update_one(
            where(_id=code_id, type=LoginCode.TYPE, used_at=None, attempts={"$lt": max_attempts}),
            {"$set": {"used_at": now, "updated_at": now}},
        )
        return result.modified_count == 1

    def take_send_slot(self, email: str, slots: int, now: datetime, until: datetime) -> SlotClaim | datetime:
        """Atomically claims one of `slots` sending slots for the address until `until`.

        Returns the claim, or when every slot is busy the earliest time one frees up. Each slot is a
        document whose `expires_at` moves forward when claimed, so two requests never share a slot;
        the claim's token lets the code sent under it free the slot early (`release_send_slot`)."""
        earliest: datetime | None = None
        for slot in range(slots):
            slot_id = f"otpslot_{slot}_{email}"
            claim = SlotClaim(slot_id, secrets.token_hex(8))
            document = self._slot_document(email, claim, until, now)
            # A conditional replace, not `$set`: nx-27017 stores a datetime written with `$set` as a
            # string, which no later `$lte` matches, so the slot would never free up again.
            claimed = self._items.replace_one(where(_id=slot_id, expires_at={"$lte": now}), document)
            if claimed.modified_count == 1:
                return claim
            try:
                self._items.insert_one({"_id": slot_id, **document})
                return claim
            except DuplicateKeyError:
                existing = self._items.find_one(where(_id=slot_id))
                if existing is not None and (earliest is None or existing["expires_at"] < earliest):
                    earliest = existing["expires_at"]
        return earliest or until

    def release_send_slot(self, claim: SlotClaim, email: str, now: datetime) -> None:
        """Frees the slot at once, if it is still held by this claim (not re-claimed since)."""
        self._items.replace_one(
            where(_id=claim.slot_id, claim=claim.token), self._slot_document(email, claim, now, now)
        )

    @staticmethod
    def _slot_document(email: str, claim: SlotClaim, until: datetime, now: datetime) -> Document:
        return {
            "type": "login_code_slot",
            "email": email,
            "claim": claim.token,
            "expires_at": until,
            "created_at": now,
            "updated_at": now,
        }


class RateCounters(Repository):
    """Fixed-window counters for the rate limits (domain/limits.py): one document per key, reset in
    place when its window has passed, so their number follows the keys seen, not the hits.

    Window ends are epoch milliseconds: nx-27017 compares numbers reliably where it does not dates."""

    def hit(self, key: str, limit: int, window: timedelta, now: datetime) -> int | None:
        """Counts one hit. None when it was allowed; else the milliseconds until the window ends."""
        counter_id = f"rate_{key}"
        now_ms = epoch_ms(now)
        fresh = {
            "type": "rate_counter",
            "count": 1,
            "window_ends_ms": epoch_ms(now + window),
        }
        for _ in range(3):
            counted = self._items.update_one(
                where(_id=counter_id, window_ends_ms={"$gt": now_ms}, count={"$lt": limit}),
                {"$inc": {"count": 1}},
            )
            if counted.modified_count == 1:
                return None
            renewed = self._items.replace_one(where(_id=counter_id, window_ends_ms={"$lte": now_ms}), fresh)
            if renewed.modified_count == 1:
                return None
            try:
                self._items.insert_one({"_id": counter_id, **fresh})
                return None
            except DuplicateKeyError:
                pass
            wait_ms = self.exhausted_for(key, limit, now)
            if wait_ms is not None:
                return wait_ms
        return None  # the window rolled over under us each time: count this one as allowed

    def exhausted_for(self, key: str, limit: int, now: datetime) -> int | None:
        """Milliseconds until the key may be hit again, or None when it may be now. Counts nothing."""
        now_ms = epoch_ms(now)
        current = self._items.find_one(where(_id=f"rate_{key}"))
        if current is None or current["window_ends_ms"] <= now_ms or current["count"] < limit:
            return None
        return int(current["window_ends_ms"]) - now_ms


class Orgs(Repository):
    """Ordinary reads and writes see live orgs only: a tombstone (an org being deleted, see
    `mongo_purge`) is invisible to them, so the org is gone for every reader the moment it is made."""

    def create(self, org: Org) -> None:
        self._insert(org)

    def get(self, org_id: str) -> Org | None:
        return self._find_one(Org, self._live(org_id))

    def update(self, org_id: str, now: datetime, **changes: Any) -> Org | None:
        return self._update(Org, self._live(org_id), {"$set": {**changes, "updated_at": now}})

    def tombstone(self, deleted: Org) -> bool:
        """Turns the live org into its tombstone; False when it was no longer live. A whole-document
        replace, not `$set`: nx-27017 would store `deleted_at` as a string."""
        assert deleted.deleted_at is not None
        extra = {PURGE_PENDING: epoch_ms(deleted.deleted_at), LEASE_UNTIL: 0}
        result = self._items.replace_one(self._live(deleted.org_id), to_document(deleted, **extra))
        return result.matched_count == 1

    def get_tombstone(self, org_id: str) -> Org | None:
        """The org if it is being deleted (its data may not be purged yet)."""
        return self._find_one(
            Org, where(_id=tombstone_id(org_id), org_id=org_id, **{PURGE_PENDING: {"$gte": 0}})
        )

    @staticmethod
    def _live(org_id: str) -> Document:
        return where(_id=tombstone_id(org_id), org_id=org_id, **{PURGE_PENDING: None})


class Memberships(Repository):
    def create(self, membership: Membership) -> None:
        self._insert(membership, unique_key=f"membership:{membership.org_id}:{membership.user_id}")

    def get(self, org_id: str, user_id: str) -> Membership | None:
        return self._find_one(Membership, where(unique_key=f"membership:{org_id}:{user_id}", org_id=org_id))

    def list_for_org(self, org_id: str) -> list[Membership]:
        return list(self._find(Membership, where(type=Membership.TYPE, org_id=org_id), [("created_at", 1)]))

    def list_for_user(self, user_id: str) -> list[Membership]:
        return list(self._find(Membership, where(type=Membership.TYPE, user_id=user_id), [("created_at", 1)]))

    def set_role(self, org_id: str, user_id: str, role: Role, now: datetime) -> Membership | None:
        return self._update(
            Membership,
            where(unique_key=f"membership:{org_id}:{user_id}", org_id=org_id),
            {"$set": {"role": role.value, "updated_at": now}},
        )

    def delete(self, org_id: str, user_id: str) -> bool:
        result = self._items.delete_one(where(unique_key=f"membership:{org_id}:{user_id}", org_id=org_id))
        return result.deleted_count == 1

    def update_email(self, user_id: str, email: str, now: datetime) -> None:
        self._items.update_many(
            where(type=Membership.TYPE, user_id=user_id), {"$set": {"email": email, "updated_at": now}}
        )


class Invites(Repository):
    def create(self, invite: Invite) -> None:
        self._insert(invite, unique_key=self._pending_key(invite.org_id, invite.email))

    def get(self, org_id: str, invite_id: str) -> Invite | None:
        return self._find_one(Invite, where(_id=invite_id, type=Invite.TYPE, org_id=org_id))

    def get_for_email(self, email: str, invite_id: str) -> Invite | None:
        """An invite addressed to this email, from whichever org sent it."""
        return self._find_one(Invite, where(_id=invite_id, type=Invite.TYPE, email=email))

    def list_for_org(self, org_id: str) -> list[Invite]:
        query = where(type=Invite.TYPE, org_id=org_id, status=InviteStatus.PENDING.value)
        return list(self._find(Invite, query, [("created_at", 1)]))

    def list_pending_for_email(self, email: str, now: datetime) -> list[Invite]:
        query = where(type=Invite.TYPE, email=email, expires_at={"$gt": now})
        return [i for i in self._find(Invite, query, [("expires_at", 1)]) if i.status is InviteStatus.PENDING]

    def respond(self, org_id: str, invite_id: str, status: InviteStatus, now: datetime) -> Invite | None:
        """Moves a pending invite to its final status; None when it was no longer pending."""
        return self._update(
            Invite,
            where(_id=invite_id, type=Invite.TYPE, org_id=org_id, status=InviteStatus.PENDING.value),
            {
                "$set": {"status": status.value, "responded_at": now, "updated_at": now},
                "$unset": {"unique_key": ""},
            },
        )

    def expire_pending(self, org_id: str, email: str, now: datetime) -> None:
        """Frees the pending slot held by an expired invite so a new one can be sent."""
        self._items.update_one(
            where(unique_key=self._pending_key(org_id, email), org_id=org_id, expires_at={"$lte": now}),
            {
                "$set": {"status": InviteStatus.CANCELED.value, "updated_at": now},
                "$unset": {"unique_key": ""},
            },
        )

    @staticmethod
    def _pending_key(org_id: str, email: str) -> str:
        return f"invite:{org_id}:{email}"


class MongoStore:
    """The repositories of this module are built with the store; the others on first use (each
    import is inside its property), so that a function pays only for the ones it touches."""

    def __init__(self, client: MongoClient[Document], database: str) -> None:
        self.client = client
        self.items: Collection[Document] = SafeWrites(client[database], "items")
        self.users = Users(self.items)
        self.sessions = Sessions(self.items)
        self.login_codes = LoginCodes(self.items)
        self.rate_counters = RateCounters(self.items)
        self.orgs = Orgs(self.items)
        self.memberships = Memberships(self.items)
        self.invites = Invites(self.items)

    @cached_property
    def stage_counts(self) -> StageCounts:
        from plutomi.adapters.mongo_stage_counts import StageCounts

        return StageCounts(self.items)

    @cached_property
    def applications(self) -> Applications:
        from plutomi.adapters.mongo_pipeline import Applications

        return Applications(self.items, self.stage_counts)

    @cached_property
    def stages(self) -> Stages:
        from plutomi.adapters.mongo_pipeline import Stages

        return Stages(self.items, self.stage_counts)

    @cached_property
    def applicants(self) -> Applicants:
        from plutomi.adapters.mongo_pipeline import Applicants

        return Applicants(self.items, self.stage_counts)

    @cached_property
    def rejection_reasons(self) -> RejectionReasons:
        from plutomi.adapters.mongo_pipeline import RejectionReasons

        return RejectionReasons(self.items)

    @cached_property
    def webhooks(self) -> Webhooks:
        from plutomi.adapters.mongo_webhooks import Webhooks

        return Webhooks(self.items)

    @cached_property
    def deliveries(self) -> Deliveries:
        from plutomi.adapters.mongo_webhooks import Deliveries

        return Deliveries(self.items)

    @cached_property
    def outbox(self) -> Outbox:
        from plutomi.adapters.mongo_outbox import Outbox

        return Outbox(self.items)

    @cached_property
    def attempt_errors(self) -> AttemptErrors:
        from plutomi.adapters.mongo_attempts import AttemptErrors

        return AttemptErrors(self.items)

    @cached_property
    def suppressions(self) -> Suppressions:
        from plutomi.adapters.mongo_suppressions import Suppressions

        return Suppressions(self.items)

    @cached_property
    def email_feedback(self) -> FeedbackRecords:
        from plutomi.adapters.mongo_suppressions import FeedbackRecords

        return FeedbackRecords(self.items)

    @cached_property
    def unsubscribe_links(self) -> UnsubscribeLinks:
        from plutomi.adapters.mongo_suppressions import UnsubscribeLinks

        return UnsubscribeLinks(self.items)

    @cached_property
    def org_purge(self) -> OrgPurge:
        from plutomi.adapters.mongo_purge import OrgPurge

        return OrgPurge(self.items)

    @cached_property
    def idempotency(self) -> IdempotencyRecords:
        from plutomi.adapters.mongo_idempotency import IdempotencyRecords

        return IdempotencyRecords(self.items)

    @cached_property
    def email_templates(self) -> EmailTemplates:
        from plutomi.adapters.mongo_email_templates import EmailTemplates

        return EmailTemplates(self.items)

    @cached_property
    def documents(self) -> Documents:
        from plutomi.adapters.mongo_documents import Documents

        return Documents(self.items)

    @classmethod
    def connect(cls, url: str, database: str) -> MongoStore:
        client: MongoClient[Document] = MongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, appname="plutomi"
        )
        return cls(client, database)

    @contextmanager
    def transaction(self, enabled: bool = True) -> Iterator[None]:
        """Runs the block's writes in one transaction (joining an open one), so a change and its outbox
        events commit or abort together. `enabled=False` runs the block as is: nx-27017's transactions
        neither isolate nor survive concurrent sessions, so the embedded store runs without them."""
        if not enabled or current_session.get() is not None:
            yield
            return
        with self.client.start_session() as session, session.start_transaction():
            token = current_session.set(session)
            try:
                yield
            finally:
                current_session.reset(token)

    def ping(self) -> None:
        self.client.admin.command("ping")

    def create_indexes(self) -> list[str]:
        from plutomi.adapters.mongo_indexes import ITEMS_INDEXES

        created = []
        for spec in ITEMS_INDEXES:
            created.append(self.items.create_index(list(spec.keys), name=spec.name, **spec.options))
        return created
