"""Consumers' idempotency records, as operators see them (`plutomi idempotency`, `plutomi trace`).
Pure: the store reads the documents Powertools' idempotency layer writes into these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

# Powertools' record statuses (its STATUS_CONSTANTS; tests/unit/test_layering.py keeps them equal).
IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"
EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class IdempotencyRecord:
    """One consumer's record of one event, as `plutomi idempotency` and `plutomi trace` show it."""

    key: str
    status: str  # Powertools' INPROGRESS, COMPLETED or EXPIRED
    expiry: int | None  # epoch seconds: the record is void after it
    in_progress_expiry: int | None  # epoch milliseconds: an in-progress claim lapses after it
    updated_at: datetime | None
    org_id: str | None
    response_data: str

    @property
    def consumer(self) -> str | None:
        """The consumer whose record it is: keys read `<function>.<module>.<consumer>.process_once#<hash>`."""
        found = CONSUMER_IN_KEY.search(self.key)
        return found.group(1) if found else None

    @property
    def in_progress(self) -> bool:
        return self.status == IN_PROGRESS

    @property
    def claim_lapses_at(self) -> datetime | None:
        ms = self.in_progress_expiry
        return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)

    @property
    def expires_at(self) -> datetime | None:
        return None if self.expiry is None else datetime.fromtimestamp(self.expiry, UTC)

    def expired(self, now_seconds: int) -> bool:
        return self.expiry is not None and self.expiry < now_seconds

    def lapsed(self, now_ms: int) -> bool:
        """An in-progress claim whose holder can no longer be working on it (it crashed)."""
        return self.in_progress and self.in_progress_expiry is not None and self.in_progress_expiry < now_ms


CONSUMER_IN_KEY = re.compile(r"\.([^.#]+)\.process_once#")
