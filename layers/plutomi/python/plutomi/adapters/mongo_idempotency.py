"""Powertools idempotency records in the `items` collection (a `BasePersistenceLayer` of ours).

A record is claimed with an insert; an existing one is taken over only when it has expired or its
in-progress claim has lapsed (a crashed attempt): read, then one update conditional on the exact
values read, so two deliveries of the same event never both run the side effect. Each claim carries
a fresh token, so a failed attempt removes only its own claim.

A record about an org's event carries the org's id (`record_org`, set by the consumer wrapper around
each record), so purging the org removes it with the rest of its data (`mongo_purge`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from plutomi.adapters.mongo_base import Repository, where
from plutomi.domain.idempotency import IdempotencyRecord

RECORD_TYPE = "idempotency"

# The org of the event whose record is being written, if any (per thread or task).
record_org: ContextVar[str | None] = ContextVar("plutomi_idempotency_org", default=None)


class MongoIdempotencyStore(BasePersistenceLayer):
    def __init__(self, items: Callable[[], Collection[dict[str, Any]]]) -> None:
        super().__init__()
        self._items_factory = items
        # The claim this process wrote on each record it holds, by idempotency key (keys are unique
        # per event, so attempts running in parallel threads never share an entry).
        self._claims: dict[str, str] = {}

    @property
    def _items(self) -> Collection[dict[str, Any]]:
        return self._items_factory()

    @staticmethod
    def _document_id(key: str) -> str:
        return f"idem_{key}"

    def _document(self, record: DataRecord) -> dict[str, Any]:
        now = datetime.now(UTC)
        document: dict[str, Any] = {
            "type": RECORD_TYPE,
            "status": record.status,
            "expiry": record.expiry_timestamp,
            "expires_at": datetime.fromtimestamp(record.expiry_timestamp or 0, UTC),
            "in_progress_expiry": record.in_progress_expiry_timestamp,
            "response_data": record.response_data,
            "payload_hash": record.payload_hash,
            "updated_at": now,
        }
        org_id = record_org.get()
        if org_id is not None:
            document["org_id"] = org_id
        return document

    def _to_record(self, document: dict[str, Any]) -> DataRecord:
        return DataRecord(
            idempotency_key=document["_id"].removeprefix("idem_"),
            status=document["status"],
            expiry_timestamp=document.get("expiry"),
            in_progress_expiry_timestamp=document.get("in_progress_expiry"),
            response_data=document.get("response_data") or "",
            payload_hash=document.get("payload_hash") or "",
        )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        document = self._items.find_one(where(_id=self._document_id(idempotency_key)))
        if document is None:
            raise IdempotencyItemNotFoundError
        return self._to_record(document)

    def _put_record(self, data_record: DataRecord) -> None:
        document_id = self._document_id(data_record.idempotency_key)
        claim = uuid.uuid4().hex
        document = {**self._document(data_record), "claim": claim}
        try:
            self._items.insert_one({"_id": document_id, "created_at": document["updated_at"], **document})
            self._claims[data_record.idempotency_key] = claim
            return
        except DuplicateKeyError:
            pass
        existing = self._items.find_one(where(_id=document_id))
        if existing is not None and self._may_take_over(existing):
            # Taken over only if it is still exactly the record read: a write conditional on `_id`
            # plus the values read (never an `$or`, which nx-27017 applies to other documents), so
            # of two deliveries taking over the same lapsed record, one wins.
            unchanged = where(
                _id=document_id,
                status=existing.get("status"),
                expiry=existing.get("expiry"),
                in_progress_expiry=existing.get("in_progress_expiry"),
                claim=existing.get("claim"),
            )
            if self._items.update_one(unchanged, {"$set": document}).matched_count == 1:
                self._claims[data_record.idempotency_key] = claim
                return
            existing = self._items.find_one(where(_id=document_id))
        old = self._to_record(existing) if existing is not None else None
        raise IdempotencyItemAlreadyExistsError(old_data_record=old)

    @staticmethod
    def _may_take_over(document: dict[str, Any]) -> bool:
        """Whether the record may be taken over: it expired, or its attempt's claim ran out (the
        attempt crashed or was killed without settling it)."""
        record = IdempotencyRecords.record_of(document)
        now = time.time()
        return record.expired(int(now)) or record.lapsed(int(now * 1000))

    def _update_record(self, data_record: DataRecord) -> None:
        self._claims.pop(data_record.idempotency_key, None)
        document = self._document(data_record)
        self._items.update_one(where(_id=self._document_id(data_record.idempotency_key)), {"$set": document})

    def _delete_record(self, data_record: DataRecord) -> None:
        """Drops the record of an attempt that failed, so the next delivery runs: only while it is
        still this attempt's claim, never a claim another delivery took over since."""
        query = where(_id=self._document_id(data_record.idempotency_key))
        claim = self._claims.pop(data_record.idempotency_key, None)
        if claim is not None:
            query = where(_id=self._document_id(data_record.idempotency_key), claim=claim)
        self._items.delete_one(query)


# ---------------------------------------------------------------- for operators


class IdempotencyRecords(Repository):
    """Reads the records `MongoIdempotencyStore` writes, and removes lapsed claims, for operators."""

    def get(self, key: str) -> IdempotencyRecord | None:
        document = self._items.find_one(where(_id=MongoIdempotencyStore._document_id(key), type=RECORD_TYPE))
        return None if document is None else self.record_of(document)

    def in_progress(self, consumer: str | None = None, limit: int = 1000) -> list[IdempotencyRecord]:
        """In-progress records, oldest claim first, at most `limit`."""
        query = where(type=RECORD_TYPE, status=STATUS_CONSTANTS["INPROGRESS"])
        cursor = self._items.find(query).limit(limit)
        records = [self.record_of(document) for document in cursor]
        if consumer is not None:
            records = [record for record in records if record.consumer == consumer]
        return sorted(records, key=lambda record: record.in_progress_expiry or 0)

    def delete_if_unchanged(self, record: IdempotencyRecord) -> bool:
        """Deletes the record only if it still has the status and claim it was read with, so a claim
        taken over since is left alone. A filter on `_id` plus the values read: no `$or` in a write."""
        result = self._items.delete_one(
            where(
                _id=MongoIdempotencyStore._document_id(record.key),
                type=RECORD_TYPE,
                status=record.status,
                in_progress_expiry=record.in_progress_expiry,
            )
        )
        return result.deleted_count == 1

    @staticmethod
    def record_of(document: dict[str, Any]) -> IdempotencyRecord:
        updated_at = document.get("updated_at")
        return IdempotencyRecord(
            key=str(document["_id"]).removeprefix("idem_"),
            status=str(document.get("status")),
            expiry=document.get("expiry"),
            in_progress_expiry=document.get("in_progress_expiry"),
            updated_at=updated_at if isinstance(updated_at, datetime) else None,
            org_id=document.get("org_id"),
            response_data=document.get("response_data") or "",
        )
