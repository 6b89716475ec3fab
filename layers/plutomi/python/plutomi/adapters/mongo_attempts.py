"""Why deliveries failed: one document per failed attempt, so `plutomi dlq show` can tell. An attempt
at an org's event carries the org's id, so purging the org removes it (`mongo_purge`)."""

from __future__ import annotations

from datetime import timedelta

from plutomi.adapters.mongo_base import Document, Repository, where
from plutomi.domain.delivery import AttemptError

ATTEMPT_TYPE = "attempt_error"
KEPT_FOR = timedelta(days=30)


class AttemptErrors(Repository):
    def record(self, error: AttemptError, org_id: str | None = None) -> None:
        document: Document = {
            "type": ATTEMPT_TYPE,
            "attempt_key": f"{error.consumer}:{error.event_id}",
            **error.model_dump(),
            "created_at": error.at,
            "expires_at": error.at + KEPT_FOR,
        }
        if org_id is not None:
            document["org_id"] = org_id
        self._items.insert_one(document)

    def for_event(self, consumer: str, event_id: str) -> list[AttemptError]:
        cursor = self._items.find(where(attempt_key=f"{consumer}:{event_id}")).sort([("at", 1)])
        return [AttemptError.model_validate(document) for document in cursor]
