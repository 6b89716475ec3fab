"""Store repository for documents (applicants' uploads).

An applicant's documents are listed through `type_org_applicant_sort`, pending uploads past their
expiry through the sparse `upload_expires_ms` (a number: nx-27017 serves no date comparison from an
index), so neither reads more than what it returns, however many documents the org holds. Changes
are whole-document replaces under `version` (a datetime written with `$set` would become a string).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plutomi.adapters.mongo_base import Repository, to_document, where
from plutomi.domain.documents import Document, DocumentState
from plutomi.domain.epoch import epoch_ms


class Documents(Repository):
    @staticmethod
    def index_fields(document: Document) -> dict[str, Any]:
        fields: dict[str, Any] = {"sort_key": document.id}
        if document.state is DocumentState.PENDING and document.upload_expires_at is not None:
            fields["upload_expires_ms"] = epoch_ms(document.upload_expires_at)
        return fields

    def create(self, document: Document) -> None:
        self._insert(document, **self.index_fields(document))

    def get(self, org_id: str, document_id: str) -> Document | None:
        return self._find_one(Document, where(_id=document_id, type=Document.TYPE, org_id=org_id))

    def for_applicant(self, org_id: str, applicant_id: str, limit: int = 500) -> list[Document]:
        """The applicant's documents, oldest first."""
        query = where(type=Document.TYPE, org_id=org_id, applicant_id=applicant_id)
        cursor = self._items.find(query).sort([("sort_key", 1)]).limit(limit)
        return [Document.model_validate(found) for found in cursor]

    def save(self, before: Document, after: Document, now: datetime) -> Document | None:
        """Replaces the document with `after` if nobody changed it since `before` was read."""
        saved = after.model_copy(update={"version": before.version + 1, "updated_at": now})
        result = self._items.replace_one(
            where(_id=before.id, type=Document.TYPE, org_id=before.org_id, version=before.version),
            to_document(saved, **self.index_fields(saved)),
        )
        return saved if result.matched_count == 1 else None

    def delete(self, org_id: str, document_id: str) -> None:
        self._items.delete_one(where(_id=document_id, type=Document.TYPE, org_id=org_id))

    def delete_for_applicant(self, org_id: str, applicant_id: str) -> int:
        result = self._items.delete_many(where(type=Document.TYPE, org_id=org_id, applicant_id=applicant_id))
        return result.deleted_count

    def expired_pending(self, now: datetime, limit: int) -> list[Document]:
        """Pending uploads past their expiry, the earliest first (only they carry `upload_expires_ms`)."""
        cursor = self._items.find({"upload_expires_ms": {"$lte": epoch_ms(now)}})
        return [
            Document.model_validate(found) for found in cursor.sort([("upload_expires_ms", 1)]).limit(limit)
        ]
