"""Why deliveries failed: one document per failed attempt, so `plutomi dlq show` can tell."""

from __future__ import annotations

from datetime import timedelta

from plutomi.adapters.mongo_base import Repository, where
from plutomi.domain.delivery import AttemptError

ATTEMPT_TYPE = "attempt_error"
KEPT_FOR = timedelta(days=30)


class AttemptErrors(Repository):
    def record(self, error: AttemptError) -> None:
        self._items.insert_one(
            {
                "type": ATTEMPT_TYPE,
                "attempt_key": f"{error.consumer}:{error.event_id}",
                **error.model_dump(),
                "created_at": error.at,
                "expires_at": error.at + KEPT_FOR,
            }
        )

    def for_event(self, consumer: str, event_id: str) -> list[AttemptError]:
        cursor = self._items.find(where(attempt_key=f"{consumer}:{event_id}")).sort([("at", 1)])
        return [AttemptError.model_validate(document) for document in cursor]
