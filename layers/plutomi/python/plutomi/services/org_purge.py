"""Purging deleted organisations in the background.

`DELETE /orgs/{org}` only makes the org's tombstone (`services.orgs.delete_org`); this removes the
rest: every document that carries the org's id, whatever its type (`adapters/mongo_purge`), in
batches, so an org of any size is purged without a request waiting for it.

Two things run it, the same way: the `org-purge` consumer of `org.deleted` (at once), and the
scheduled `org_purge_sweeper`, which finds unfinished tombstones through an index and carries on
where a purge stopped: out of time, crashed halfway, or waiting. Neither relies on the idempotency
layer: a purge is safe to run any number of times, and a lease on the tombstone keeps two purgers
off one org (a crashed one's lease runs out and the next run takes over).

The tombstone goes last, and not before `GRACE` has passed since the deletion: a request or consumer
that found the org live just before the tombstone was made may still write one last document of it;
a final pass after the grace period removes that too. Only then is the id free again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Literal

from plutomi.domain import events
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.events import Event
from plutomi.services.ports import Dependencies

# Longer than any function runs (API requests 30 s, consumers 120 s, scheduled functions 55 s).
GRACE = timedelta(minutes=5)
# How long a purger may go without renewing its claim before another one takes over.
LEASE = timedelta(minutes=2)
BATCH_SIZE = 500
SWEEP_LIMIT = 100  # tombstones per sweep, the longest-deleted first

Outcome = Literal[
    "finished",  # everything is gone, the id is free again
    "waiting",  # the data is gone; the grace period or unpublished events keep the tombstone a while
    "paused",  # out of time; the next run carries on
    "busy",  # another purger holds the org
    "not_deleted",  # no tombstone: nothing to purge (finished before, or the org is live)
]


@dataclass
class PurgeResult:
    org_id: str
    outcome: Outcome = "paused"
    deleted: int = 0


KeepGoing = Callable[[], bool]


def purge_org(deps: Dependencies, org_id: str, keep_going: KeepGoing) -> PurgeResult:
    """Deletes the org's documents a batch at a time while `keep_going()` says there is time, and
    removes its tombstone when nothing is left and the grace period is over. Only ever acts on a
    tombstone, so an org created since under the same id is never touched."""
    from plutomi.domain.documents import org_prefix  # the documents' models: for a purge only

    result = PurgeResult(org_id)
    tombstone = deps.store.orgs.get_tombstone(org_id)
    if tombstone is None or tombstone.deleted_at is None:
        result.outcome = "not_deleted"
        return result
    purge = deps.store.org_purge
    owner = deps.clock.new_id("prg")
    if not purge.take_lease(org_id, owner, _now_ms(deps), _lease_end(deps)):
        result.outcome = "busy"
        return result
    try:
        while True:
            found, deleted = purge.delete_batch(org_id, BATCH_SIZE)
            result.deleted += deleted
            if found == 0:
                break
            if deleted == 0 or not keep_going():
                return result  # paused (deleted == 0: someone else is deleting them; look again later)
            if not purge.renew_lease(org_id, owner, _lease_end(deps)):
                result.outcome = "busy"
                return result
        grace_over = _now_ms(deps) >= epoch_ms(tombstone.deleted_at + GRACE)
        if not grace_over or purge.has_unpublished_events(org_id):
            result.outcome = "waiting"
            return result
        # The org's objects (every version) go before its tombstone, which lets a purge that fails
        # here run again; their records went with the rest of its documents.
        deps.storage.delete_prefix(org_prefix(org_id))
        if purge.remove_tombstone(org_id, owner):
            result.outcome = "finished"
        else:
            result.outcome = "busy"
        return result
    finally:
        if result.outcome != "finished":
            purge.release_lease(org_id, owner)


def purge_for_event(deps: Dependencies, event: Event, keep_going: KeepGoing) -> dict[str, Any]:
    """The `org-purge` consumer's use case: an `org.deleted` event starts its org's purge."""
    if event.type != events.ORG_DELETED or event.org_id is None:
        return {"ignored": event.type}
    return asdict(purge_org(deps, event.org_id, keep_going))


@dataclass
class SweepResult:
    tombstones: int = 0
    finished: int = 0
    unfinished: int = 0
    deleted: int = 0


def sweep(deps: Dependencies, keep_going: KeepGoing, limit: int = SWEEP_LIMIT) -> SweepResult:
    """The backstop: carries on every unfinished purge, the longest-deleted first."""
    result = SweepResult()
    for org_id in deps.store.org_purge.tombstoned(limit):
        if not keep_going():
            break
        purged = purge_org(deps, org_id, keep_going)
        result.tombstones += 1
        result.deleted += purged.deleted
        if purged.outcome in ("finished", "not_deleted"):
            result.finished += 1
        else:
            result.unfinished += 1
    return result


def _now_ms(deps: Dependencies) -> int:
    return epoch_ms(deps.clock.now())


def _lease_end(deps: Dependencies) -> int:
    return epoch_ms(deps.clock.now() + LEASE)
