"""Every index on the `items` collection, declared in one place and created by `plutomi migrate`.

Queries that list or sweep use one of these; `tests/integration/test_store_query_plans.py` checks the
plans where the server reports them. No index includes `_id` (nx-27017 cannot index it in a compound).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IndexSpec:
    name: str
    keys: tuple[tuple[str, int], ...]
    options: dict[str, Any] = field(default_factory=dict)


ITEMS_INDEXES: tuple[IndexSpec, ...] = (
    # One unique key per document kind that needs it: a user's email, one membership per org and
    # user, one pending invite per org and email, one settled delivery per webhook and event. Sparse:
    # documents without it are not indexed.
    IndexSpec("unique_key", (("unique_key", 1),), {"unique": True, "sparse": True}),
    # Tenant-owned listings: the members or invites of an org, oldest first.
    IndexSpec("type_org_created", (("type", 1), ("org_id", 1), ("created_at", 1))),
    # A user's memberships (their orgs).
    IndexSpec("type_user_created", (("type", 1), ("user_id", 1), ("created_at", 1))),
    # Live login codes and pending invites of an address; an address's SES feedback records.
    IndexSpec("type_email_expires", (("type", 1), ("email", 1), ("expires_at", 1))),
    # Idempotency records and other expiring documents.
    IndexSpec("expires_at", (("expires_at", 1),)),
    # An application's stages, and its applicants in id order (cursor pagination).
    IndexSpec("type_org_app_sort", (("type", 1), ("org_id", 1), ("application_id", 1), ("sort_key", 1))),
    # A stage's applicants in id order: the recruiter's list and cursor pages by stage.
    IndexSpec(
        "type_org_app_stage_sort",
        (("type", 1), ("org_id", 1), ("application_id", 1), ("stage_id", 1), ("sort_key", 1)),
    ),
    # The recruiter's lists by status (active by default): an application's applicants, and a stage's.
    IndexSpec(
        "type_org_app_status_sort",
        (("type", 1), ("org_id", 1), ("application_id", 1), ("status", 1), ("sort_key", 1)),
    ),
    IndexSpec(
        "type_org_app_stage_status_sort",
        (("type", 1), ("org_id", 1), ("application_id", 1), ("stage_id", 1), ("status", 1), ("sort_key", 1)),
    ),
    # A webhook's delivery attempts, newest first (cursor pagination by delivery id).
    IndexSpec("type_org_webhook_sort", (("type", 1), ("org_id", 1), ("webhook_id", 1), ("sort_key", 1))),
    # The attempts so far at delivering one event to one webhook.
    IndexSpec("type_org_event_webhook", (("type", 1), ("org_id", 1), ("event_id", 1), ("webhook_id", 1))),
    # Why an event's deliveries failed, for the DLQ.
    IndexSpec("attempt_key", (("attempt_key", 1), ("at", 1)), {"sparse": True}),
    # The outbox relay: only unsent events carry `pending_since_ms`.
    IndexSpec("outbox_pending", (("pending_since_ms", 1),), {"sparse": True}),
    # The idle sweeper: only applicants with a deadline carry `idle_deadline_ms` (cleared on completion).
    # A number, not the date: nx-27017 reads the whole collection for any filter comparing a date.
    IndexSpec("idle_deadline_ms", (("idle_deadline_ms", 1),), {"sparse": True}),
    # `plutomi ses stats`: SES feedback records of one kind in a time window (only they carry the field).
    IndexSpec("feedback_kind_at", (("feedback_kind", 1), ("at_ms", 1)), {"sparse": True}),
    # The org purge: every document of an org, whatever its type, a batch at a time, leaving out its
    # outbox events not yet published (only they carry `pending_since_ms`). Not sparse: the purge
    # asks for `pending_since_ms` null, i.e. absent.
    IndexSpec("org_pending", (("org_id", 1), ("pending_since_ms", 1))),
    # Orgs being deleted whose purge has not finished: only tombstones carry `purge_pending_ms`.
    IndexSpec("purge_pending_ms", (("purge_pending_ms", 1),), {"sparse": True}),
    # An applicant's documents in id order.
    IndexSpec("type_org_applicant_sort", (("type", 1), ("org_id", 1), ("applicant_id", 1), ("sort_key", 1))),
    # The upload sweeper: only pending uploads carry `upload_expires_ms` (dropped when confirmed).
    IndexSpec("upload_expires_ms", (("upload_expires_ms", 1),), {"sparse": True}),
)
