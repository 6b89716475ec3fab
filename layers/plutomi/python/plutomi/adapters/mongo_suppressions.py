"""Store repositories for email feedback: the suppression list, the SES feedback records and the
unsubscribe links.

Everything here is written once by insert and never updated (nx-27017 would store a datetime written
with `$set` as a string). Uniqueness does the deduplication: one suppression per address and scope,
one feedback record per (kind, feedback id, address), one unsubscribe link per address. Times that are
compared in a query are also stored as epoch milliseconds (`at_ms`): nx-27017 reads the whole
collection for a filter comparing dates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from plutomi.adapters.mongo_base import Repository, where
from plutomi.domain.email_feedback import FeedbackKind, FeedbackRecord, Suppression, SuppressionScope
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.errors import DuplicateItem

UNSUBSCRIBE_LINK_TYPE = "unsubscribe_link"


class Suppressions(Repository):
    @staticmethod
    def key(scope: SuppressionScope, email: str) -> str:
        return f"suppression:{scope.value}:{email}"

    def add(self, suppression: Suppression) -> bool:
        """Puts the address on the list for the suppression's scope; False if it already was."""
        try:
            self._insert(suppression, unique_key=self.key(suppression.scope, suppression.email))
        except DuplicateItem:
            return False
        return True

    def get(self, email: str, scope: SuppressionScope) -> Suppression | None:
        return self._find_one(Suppression, where(unique_key=self.key(scope, email)))

    def blocking(self, email: str, essential: bool) -> Suppression | None:
        """Why an email to the address must not be sent, or None. An essential email (one the person asked
        for) is only stopped by a bounce or a complaint; any other also by an unsubscribe."""
        scopes = (
            [SuppressionScope.ALL] if essential else [SuppressionScope.ALL, SuppressionScope.NON_ESSENTIAL]
        )
        for scope in scopes:
            found = self.get(email, scope)
            if found is not None:
                return found
        return None


class FeedbackRecords(Repository):
    @staticmethod
    def key(kind: FeedbackKind, feedback_id: str, email: str) -> str:
        return f"ses-feedback:{kind.value}:{feedback_id}:{email}"

    def record(self, record: FeedbackRecord) -> bool:
        """Stores one recipient of one notification; False if that notification was recorded before."""
        try:
            self._insert(
                record,
                unique_key=self.key(record.feedback_kind, record.feedback_id, record.email),
                at_ms=epoch_ms(record.occurred_at),
            )
        except DuplicateItem:
            return False
        return True

    def for_address(self, email: str) -> list[FeedbackRecord]:
        found = self._items.find(where(type=FeedbackRecord.TYPE, email=email))
        records = [FeedbackRecord.model_validate(document) for document in found]
        return sorted(records, key=lambda record: (record.occurred_at, record.id))

    def count_for_address(
        self, email: str, kinds: Iterable[FeedbackKind], after: datetime, until: datetime, up_to: int
    ) -> int:
        """The address's records of these kinds with after < occurred_at <= until, counted no further
        than `up_to` (the feedback consumer asks "at least the limit?" for each soft bounce)."""
        query = where(
            type=FeedbackRecord.TYPE,
            email=email,
            feedback_kind={"$in": [kind.value for kind in kinds]},
            at_ms={"$gt": epoch_ms(after), "$lte": epoch_ms(until)},
        )
        return self._count_up_to(query, up_to)

    def count_by_kind(self, since: datetime, until: datetime) -> dict[FeedbackKind, int]:
        """Records per kind with since <= occurred_at <= until, every recipient counted (one index range
        per kind). Cold path only: `plutomi ses stats`, an operator's command."""
        window = {"$gte": epoch_ms(since), "$lte": epoch_ms(until)}
        return {
            kind: self._count_all_cold_path_only(where(feedback_kind=kind.value, at_ms=window))
            for kind in FeedbackKind
        }


class UnsubscribeLinks(Repository):
    """Which address an unsubscribe token stands for. The token is derived from the address (see
    `domain.email_feedback.unsubscribe_token`), so registering it on every send is one insert that
    usually collides; the address itself never travels in the link."""

    @staticmethod
    def document_id(token: str) -> str:
        return f"unsub_{token}"

    def register(self, token: str, email: str, now: datetime) -> None:
        if self.email_for(token) == email:  # the usual case: an earlier email registered it
            return
        document = {
            "_id": self.document_id(token),
            "type": UNSUBSCRIBE_LINK_TYPE,
            "email": email,
            "created_at": now,
            "updated_at": now,
        }
        with contextlib.suppress(DuplicateKeyError):  # another send registered it meanwhile
            self._items.insert_one(document)

    def email_for(self, token: str) -> str | None:
        found = self._items.find_one(where(_id=self.document_id(token), type=UNSUBSCRIBE_LINK_TYPE))
        email = found.get("email") if found else None
        return email if isinstance(email, str) else None
