"""Purging a deleted organisation: every document that carries its `org_id`, whatever its type.

There is no list of repositories or types here on purpose: the purge deletes by `org_id` over the one
`items` collection, batch by batch, through the `org_pending` index, so a kind of document added
later is purged without anyone remembering to add it. Records about an org's events (outbox events,
idempotency records, attempt errors) carry the org's id at the top level for the same reason.

Two things are kept: the org's tombstone (its own document, deleted last, by `remove_tombstone`) and
outbox events not yet published (they carry `pending_since_ms`, which the index covers, so the purge
skips them and the relay still publishes them; the purge only finishes once none is left).

A tombstone carries `purge_pending_ms` (when the org was deleted, in epoch milliseconds; a sparse
index finds unfinished purges) and a lease (`purge_lease_owner`, `purge_lease_until_ms`), so one
purger works on an org at a time and a purger that crashed is replaced once its lease has run out.
Numbers, not dates: nx-27017 reads the whole collection for any filter that compares dates. No write
filter here uses `$or`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from plutomi.adapters.mongo_base import Repository, to_document, where
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.models import Org

# Fields of a tombstone (an org document whose org is being deleted).
PURGE_PENDING = "purge_pending_ms"
LEASE_OWNER = "purge_lease_owner"
LEASE_UNTIL = "purge_lease_until_ms"
# Outbox events not yet published carry this (see `mongo_outbox`); the purge never deletes them.
UNPUBLISHED = "pending_since_ms"


def tombstone_id(org_id: str) -> str:
    return f"org_{org_id}"


class OrgPurge(Repository):
    def tombstoned(self, limit: int) -> list[str]:
        """The ids of orgs being deleted, the longest-deleted first (the `purge_pending_ms` index)."""
        cursor = (
            self._items.find({PURGE_PENDING: {"$gte": 0}}, {"org_id": 1})
            .sort([(PURGE_PENDING, 1)])
            .limit(limit)
        )
        return [str(document["org_id"]) for document in cursor]

    def take_lease(self, org_id: str, owner: str, now_ms: int, until_ms: int) -> bool:
        """Claims the org's purge until `until_ms` if nobody holds it (or a holder's lease ran out).
        Whether the claim won is read back from the tombstone, not from the reported match count."""
        self._items.update_one(
            where(_id=tombstone_id(org_id), org_id=org_id, **{LEASE_UNTIL: {"$lt": now_ms}}),
            {"$set": {LEASE_OWNER: owner, LEASE_UNTIL: until_ms}},
        )
        found = self._items.find_one(where(_id=tombstone_id(org_id), org_id=org_id), {LEASE_OWNER: 1})
        return found is not None and found.get(LEASE_OWNER) == owner

    def renew_lease(self, org_id: str, owner: str, until_ms: int) -> bool:
        """False when the lease is no longer ours (another purger took it over, or the purge finished)."""
        result = self._items.update_one(
            where(_id=tombstone_id(org_id), org_id=org_id, **{LEASE_OWNER: owner}),
            {"$set": {LEASE_UNTIL: until_ms}},
        )
        return result.matched_count == 1

    def release_lease(self, org_id: str, owner: str) -> None:
        self._items.update_one(
            where(_id=tombstone_id(org_id), org_id=org_id, **{LEASE_OWNER: owner}),
            {"$set": {LEASE_UNTIL: 0}},
        )

    def delete_batch(self, org_id: str, limit: int) -> tuple[int, int]:
        """Deletes up to `limit` of the org's documents (never its tombstone, never an unpublished
        event). Returns how many it found and how many it deleted; (0, 0) when nothing is left."""
        query = where(org_id=org_id, **{UNPUBLISHED: None})
        found = [
            document["_id"]
            for document in self._items.find(
                {**query, "_id": {"$ne": tombstone_id(org_id)}}, {"_id": 1}
            ).limit(limit)
        ]
        if not found:
            return 0, 0
        result = self._items.delete_many({"_id": {"$in": found}, **query})
        return len(found), result.deleted_count

    def has_unpublished_events(self, org_id: str) -> bool:
        query = where(org_id=org_id, **{UNPUBLISHED: {"$gte": 0}})
        return self._items.find_one(query, {"_id": 1}) is not None

    def remove_tombstone(self, org_id: str, owner: str) -> bool:
        """The purge's last step: the org id is free again. Only the lease holder may take it."""
        result = self._items.delete_one(
            where(_id=tombstone_id(org_id), org_id=org_id, **{LEASE_OWNER: owner})
        )
        return result.deleted_count == 1

    # ------------------------------------------------------------ data left by orgs deleted before purges

    def org_ids(self) -> Iterator[str]:
        """Every org id that some document carries, in order: one index seek per id (`org_pending`),
        not a read of the collection."""
        after = ""
        while True:
            found = self._items.find({"org_id": {"$gt": after}}, {"org_id": 1}).sort([("org_id", 1)]).limit(1)
            ids = [str(document["org_id"]) for document in found]
            if not ids:
                return
            after = ids[0]
            yield after

    def tombstone_orphans(self, now: datetime) -> list[str]:
        """Gives a tombstone to every org id whose documents outlived their org (deleted before deleting
        purged), so the purge removes them and nobody who takes the id again can read them. Idempotent."""
        queued = []
        for org_id in self.org_ids():
            if self._items.find_one(where(_id=tombstone_id(org_id), org_id=org_id), {"_id": 1}) is not None:
                continue
            orphan = Org(
                id=tombstone_id(org_id),
                org_id=org_id,
                display_name="",
                created_by="",
                deleted_at=now,
                deleted_by="plutomi-migrate",
                created_at=now,
                updated_at=now,
            )
            try:
                self._items.insert_one(to_document(orphan, **{PURGE_PENDING: epoch_ms(now), LEASE_UNTIL: 0}))
            except DuplicateKeyError:  # the id was taken (or deleted) meanwhile
                continue
            queued.append(org_id)
        return queued
