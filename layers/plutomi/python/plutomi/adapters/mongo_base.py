"""The building blocks of every store repository: filters with explicit `$eq`, document <-> model
conversion at the boundary, the collection that refuses the write shapes nx-27017 gets wrong, and the
base class the repositories share.

nx-27017 only uses an index for the explicit `{"$eq": value}` form (a bare value also matches array
elements there, which defeats the index), so every filter is written with `where`.

What the store may rely on is pinned by tests/contract/test_store_contract.py, which runs against
nx-27017 and against any MongoDB named by `MONGODB_URL`; a shape that suite shows nx-27017 getting
wrong is refused here, so no adapter can use it by mistake.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from pymongo import ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from pymongo.results import DeleteResult, UpdateResult

from plutomi.domain.errors import DuplicateItem
from plutomi.domain.models import Item

Document = dict[str, Any]
ItemT = TypeVar("ItemT", bound=Item)


class UnsafeQuery(ValueError):
    """A query shape the embedded store (nx-27017) gets wrong; the store refuses it everywhere."""


def where(**fields: Any) -> Document:
    """A filter with explicit `$eq` for plain values, so the server can use its indexes. Field
    conditions only: a top-level operator such as `$or` is refused (see `refuse_unsafe_write`)."""
    operators = sorted(name for name in fields if name.startswith("$"))
    if operators:
        raise UnsafeQuery(f"where() takes field conditions, not {', '.join(operators)}")
    return {name: value if isinstance(value, Mapping) else {"$eq": value} for name, value in fields.items()}


def refuse_unsafe_write(query: Mapping[str, Any]) -> None:
    """nx-27017 applies a write whose filter has a top-level `$or` to whatever matches the `$or`
    alone, ignoring the filter's other conditions (an `update_one` on `_id: B` changed document A,
    a `delete_one` matching nothing deleted A), while reads with the same filter are right. Write
    on exact values instead (read, then a conditional write on `_id` plus the values read)."""
    if "$or" in query:
        raise UnsafeQuery("a write filter must not have a top-level $or: nx-27017 writes the wrong documents")


def refuse_replacing_upsert(options: Mapping[str, Any]) -> None:
    """nx-27017 inserts a replace's upsert under a new ObjectId, not the filter's `_id`, so every
    upsert adds another document. Upsert with `update_one` (`$set`), which keeps the `_id`."""
    if options.get("upsert"):
        raise UnsafeQuery("a replace must not upsert: nx-27017 inserts it under a new ObjectId")


class SafeWrites(Collection[Document]):
    """The `items` collection, refusing the write filters nx-27017 applies to the wrong documents."""

    def __init__(self, database: Database[Document], name: str) -> None:
        super().__init__(database, name)

    def update_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> UpdateResult:
        refuse_unsafe_write(filter)
        return super().update_one(filter, *args, **kwargs)

    def update_many(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> UpdateResult:
        refuse_unsafe_write(filter)
        return super().update_many(filter, *args, **kwargs)

    def replace_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> UpdateResult:
        refuse_unsafe_write(filter)
        refuse_replacing_upsert(kwargs)
        return super().replace_one(filter, *args, **kwargs)

    def delete_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> DeleteResult:
        refuse_unsafe_write(filter)
        return super().delete_one(filter, *args, **kwargs)

    def delete_many(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> DeleteResult:
        refuse_unsafe_write(filter)
        return super().delete_many(filter, *args, **kwargs)

    def find_one_and_update(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        refuse_unsafe_write(filter)
        return super().find_one_and_update(filter, *args, **kwargs)

    def find_one_and_replace(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        refuse_unsafe_write(filter)
        refuse_replacing_upsert(kwargs)
        return super().find_one_and_replace(filter, *args, **kwargs)

    def find_one_and_delete(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        refuse_unsafe_write(filter)
        return super().find_one_and_delete(filter, *args, **kwargs)

    def bulk_write(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsafeQuery("bulk writes bypass the write-filter check; use the single-write methods")


def to_document(item: Item, **extra: Any) -> Document:
    document = item.model_dump(by_alias=True, mode="python")
    document["type"] = item.TYPE
    document.update(extra)
    return document


def from_document(model: type[ItemT], document: Mapping[str, Any] | None) -> ItemT | None:
    if document is None:
        return None
    return model.model_validate(document)


# The session of the transaction the current thread (or task) is in, if any. Repositories bind every
# operation to it, so a use case's writes and its outbox events commit or abort together.
current_session: ContextVar[ClientSession | None] = ContextVar("plutomi_mongo_session", default=None)


class _SessionBound:
    """A collection whose every operation runs in the given session."""

    def __init__(self, collection: Collection[Document], session: ClientSession) -> None:
        self._collection = collection
        self._session = session

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        return functools.partial(attribute, session=self._session) if callable(attribute) else attribute


class Repository:
    def __init__(self, items: Collection[Document]) -> None:
        self._collection = items

    @property
    def _items(self) -> Collection[Document]:
        session = current_session.get()
        if session is None:
            return self._collection
        return cast(Collection[Document], _SessionBound(self._collection, session))

    def _insert(self, item: Item, **extra: Any) -> None:
        try:
            self._items.insert_one(to_document(item, **extra))
        except DuplicateKeyError as error:
            raise DuplicateItem(str(error)) from error

    def _find_one(self, model: type[ItemT], query: Document) -> ItemT | None:
        return from_document(model, self._items.find_one(query))

    def _find(self, model: type[ItemT], query: Document, sort: list[tuple[str, int]]) -> Iterator[ItemT]:
        for document in self._items.find(query).sort(sort):
            yield model.model_validate(document)

    def _count_up_to(self, query: Document, limit: int) -> int:
        """How many documents match, counting no further than `limit`: one bounded, indexed `find`.
        The answer to "are there any?" (limit 1) and "at least n?" on every path that runs often."""
        return sum(1 for _ in self._items.find(query, {"_id": 1}).limit(limit))

    def _count_all_cold_path_only(self, query: Document) -> int:
        """Every matching document, counted by `count_documents`: only for what an operator or a
        refusal asks for, never on a path that runs per request, event or delivery. nx-27017 answers
        `count_documents` by reading the whole collection under its single lock, whatever the filter
        (~270 ms at 6,600 documents against ~1 ms for the same `find`). The adapters' only call of
        `count_documents`; `tests/integration/test_hot_path_counts.py` keeps it off the hot paths."""
        return self._items.count_documents(query)

    def _update(self, model: type[ItemT], query: Document, changes: Document) -> ItemT | None:
        document = self._items.find_one_and_update(query, changes, return_document=ReturnDocument.AFTER)
        return from_document(model, document)
