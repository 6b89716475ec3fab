"""Purges a deleted organisation's data when `org.deleted` arrives. Safe to run again and to stop
halfway: what one run leaves, the next one (or the scheduled `org_purge_sweeper`) finishes."""

from __future__ import annotations

from typing import Any

from plutomi.bootstrap import dependencies
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler, time_budget
from plutomi.services import org_purge

# Well inside the function's 120 s on AWS; the bridge keeps the message in progress meanwhile.
BUDGET_SECONDS = 60.0


def purge(event: Event) -> dict[str, Any]:
    return org_purge.purge_for_event(dependencies(), event, keep_going=time_budget(BUDGET_SECONDS))


# No idempotency record: purging twice is harmless, and a crashed attempt must not wait for one.
handler = consumer_handler("org-purge", purge, once_per_event=False)
