"""The store's contract: every query shape the adapters use, against nx-27017 (always) and against any
MongoDB named by `MONGODB_URL` when the tests start (e.g. a real replica set), so both are held to
MongoDB's semantics.

Where nx-27017 gets a shape wrong, a test here shows the bug as it is today, and the store refuses
that shape (`plutomi.adapters.mongo_base`): when an nx-27017 upgrade fixes one, its test fails and
says which guard can go.

    MONGODB_URL=mongodb://host:27017/?replicaSet=rs0 .venv/bin/pytest tests/integration/test_store_contract.py
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from plutomi.adapters.mongo_base import Document, SafeWrites, UnsafeQuery, where
from plutomi.adapters.mongo_idempotency import MongoIdempotencyStore
from plutomi.domain.epoch import epoch_ms

# Read at import, before the session's fixtures point MONGODB_URL at the embedded server.
GIVEN_MONGODB_URL = os.environ.get("MONGODB_URL")
NX = "nx-27017"
BACKENDS = [NX] + (["MONGODB_URL"] if GIVEN_MONGODB_URL else [])


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, services: dict[str, str]
) -> Iterator[tuple[str, MongoClient[Document]]]:
    url = services["MONGODB_URL"] if request.param == NX else GIVEN_MONGODB_URL
    assert url is not None
    client: MongoClient[Document] = MongoClient(url, tz_aware=True, serverSelectionTimeoutMS=3000)
    try:
        yield request.param, client
    finally:
        client.close()


@pytest.fixture
def raw(backend: tuple[str, MongoClient[Document]]) -> Iterator[Collection[Document]]:
    """A fresh collection of its own, written without the store's guard (to show what servers do)."""
    _, client = backend
    database = client[f"contract_{uuid.uuid4().hex[:8]}"]
    try:
        yield database["items"]
    finally:
        client.drop_database(database.name)


@pytest.fixture
def items(raw: Collection[Document]) -> Collection[Document]:
    """The same collection as the store opens it: refusing the shapes nx-27017 gets wrong."""
    return SafeWrites(raw.database, raw.name)


def is_nx(backend: tuple[str, MongoClient[Document]]) -> bool:
    return backend[0] == NX


def ids(cursor: Any) -> list[str]:
    return [document["_id"] for document in cursor]


def seed(items: Collection[Document]) -> None:
    items.insert_many(
        [
            {"_id": "a", "type": "t", "org_id": "o1", "n": 1, "s": "X", "flag": True, "tags": ["p", "q"]},
            {"_id": "b", "type": "t", "org_id": "o1", "n": 2, "s": "X", "flag": False, "gone": None},
            {"_id": "c", "type": "t", "org_id": "o2", "n": 3, "s": "Y", "flag": True},
            {"_id": "d", "type": "u", "org_id": "o2", "n": 4, "s": "Z"},
        ]
    )


# ---------------------------------------------------------------------- reads


def test_equality_filters_on_strings_numbers_booleans(items: Collection[Document]) -> None:
    seed(items)
    assert ids(items.find(where(type="t", org_id="o1")).sort("_id")) == ["a", "b"]
    assert ids(items.find(where(n=3))) == ["c"]
    assert ids(items.find(where(flag=True)).sort("_id")) == ["a", "c"]
    assert ids(items.find(where(flag=False))) == ["b"]


def test_none_matches_a_missing_field_and_a_null(items: Collection[Document]) -> None:
    """`where(field=None)`: the live-org filter (`PURGE_PENDING: None`), `revoked_at=None`."""
    seed(items)
    assert ids(items.find(where(gone=None)).sort("_id")) == ["a", "b", "c", "d"]
    assert ids(items.find(where(flag=None))) == ["d"]


def test_in_ne_and_ranges(items: Collection[Document]) -> None:
    """`$in` (mark_sent, purge batches, feedback kinds), `$ne` on `_id` (purge), number ranges (epoch
    ms windows), string ranges (`sort_key` pages), `$gte: 0` on a sparse field (pending outbox)."""
    seed(items)
    assert ids(items.find({"_id": {"$in": ["a", "c", "zz"]}}).sort("_id")) == ["a", "c"]
    assert ids(items.find({"s": {"$in": ["Y", "Z"]}, "type": {"$eq": "t"}})) == ["c"]
    assert ids(items.find({"_id": {"$ne": "a"}, "org_id": {"$eq": "o1"}})) == ["b"]
    assert ids(items.find({"n": {"$gt": 1, "$lte": 3}}).sort("_id")) == ["b", "c"]
    assert ids(items.find({"n": {"$gte": 4}})) == ["d"]
    assert ids(items.find({"n": {"$lt": 2}})) == ["a"]
    assert ids(items.find({"_id": {"$gt": "b"}}).sort("_id")) == ["c", "d"]
    assert ids(items.find({"_id": {"$lt": "b"}})) == ["a"]
    items.create_index([("pending", ASCENDING)], name="pending", sparse=True)
    items.update_one(where(_id="b"), {"$set": {"pending": 0}})
    items.update_one(where(_id="c"), {"$set": {"pending": 7}})
    assert ids(items.find({"pending": {"$gte": 0}}).sort("pending", ASCENDING)) == ["b", "c"]


def test_the_next_pending_batch_leaves_out_the_one_in_flight(items: Collection[Document]) -> None:
    """`Outbox.pending(excluding=...)`: `$gte: 0` on a sparse indexed field with `_id` `$nin`,
    sorted and limited, as the relay reads its next batch before marking the current one sent."""
    seed(items)
    items.create_index([("pending", ASCENDING)], name="pending", sparse=True)
    for n, document_id in enumerate(["d", "a", "c"]):
        items.update_one(where(_id=document_id), {"$set": {"pending": n}})
    query = {"pending": {"$gte": 0}, "_id": {"$nin": ["d", "zz"]}}
    assert ids(items.find(query).sort("pending", ASCENDING).limit(1)) == ["a"]
    assert ids(items.find(query).sort("pending", ASCENDING).limit(5)) == ["a", "c"]
    assert ids(items.find({**query, "_id": {"$nin": ["d", "a", "c"]}})) == []


def test_sorts_limits_and_projections(items: Collection[Document]) -> None:
    seed(items)
    assert ids(items.find({}).sort([("n", DESCENDING)]).limit(2)) == ["d", "c"]
    assert ids(items.find({}).sort([("s", ASCENDING), ("n", DESCENDING)])) == ["b", "a", "c", "d"]
    projected = items.find_one(where(_id="a"), {"org_id": 1})
    assert projected == {"_id": "a", "org_id": "o1"}


def test_counts(items: Collection[Document]) -> None:
    seed(items)
    assert items.count_documents(where(type="t")) == 3
    assert items.count_documents(where(type="none")) == 0
    assert items.count_documents({"n": {"$gte": 2}, "org_id": {"$eq": "o2"}}) == 2


def test_arrays_round_trip_and_match_by_in(items: Collection[Document]) -> None:
    """Lists are stored and read back whole; membership is asked with `$in`, which both servers
    answer alike. (`$eq` on an array field differs: see the nx-27017 bugs below.)"""
    seed(items)
    assert items.find_one(where(_id="a"))["tags"] == ["p", "q"]  # type: ignore[index]
    assert ids(items.find({"tags": {"$in": ["q"]}})) == ["a"]


def test_dates_inserted_or_replaced_stay_dates_and_compare(items: Collection[Document]) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    items.insert_one({"_id": "x", "at": moment, "at_ms": epoch_ms(moment)})
    items.replace_one(where(_id="x"), {"at": moment + timedelta(days=1), "at_ms": epoch_ms(moment)})
    stored = items.find_one(where(_id="x"))
    assert stored is not None
    assert stored["at"] == moment + timedelta(days=1)
    assert stored["at"].utcoffset() == timedelta(0)
    assert ids(items.find({"at": {"$gt": moment}})) == ["x"]
    assert ids(items.find({"at_ms": {"$lte": epoch_ms(moment)}})) == ["x"]


# ---------------------------------------------------------------------- writes


def test_conditional_updates_report_what_they_matched(items: Collection[Document]) -> None:
    """The claims, leases, counters and versions: an update conditional on `_id` plus exact values."""
    seed(items)
    missed = items.update_one(where(_id="a", n=99), {"$inc": {"n": 1}})
    assert (missed.matched_count, missed.modified_count) == (0, 0)
    hit = items.update_one(where(_id="a", n=1, s="X"), {"$inc": {"n": 1}, "$set": {"s": "W"}})
    assert (hit.matched_count, hit.modified_count) == (1, 1)
    assert items.find_one(where(_id="a")) is not None
    assert ids(items.find(where(s="W"))) == ["a"]
    assert items.find_one(where(_id="b"))["s"] == "X"  # type: ignore[index]


def test_unset_and_update_many_with_in(items: Collection[Document]) -> None:
    """`Outbox.mark_sent`: `$unset` the pending marker of the listed ids only."""
    seed(items)
    result = items.update_many({"_id": {"$in": ["a", "c"]}, "type": {"$eq": "t"}}, {"$unset": {"s": ""}})
    assert result.matched_count == 2
    assert [("s" in d) for d in items.find({}).sort("_id")] == [False, True, False, True]


def test_update_many_on_a_missing_field_writes_only_the_documents_without_it(
    items: Collection[Document],
) -> None:
    """`Applicants.backfill_status` (`plutomi migrate`): `$set` a field where it is missing (`None`
    also matches a null) and `$inc` the version, on those documents only; again, nothing matches."""
    items.insert_many(
        [
            {"_id": "old", "type": "applicant", "org_id": "o1", "version": 3},
            {"_id": "null", "type": "applicant", "org_id": "o2", "status": None, "version": 0},
            {"_id": "decided", "type": "applicant", "org_id": "o1", "status": "rejected", "version": 7},
            {"_id": "other", "type": "stage", "org_id": "o1", "version": 1},
        ]
    )
    backfill = ({"$set": {"status": "active"}, "$inc": {"version": 1}},)
    first = items.update_many(where(type="applicant", status=None), *backfill)
    assert (first.matched_count, first.modified_count) == (2, 2)
    found = {d["_id"]: (d.get("status"), d["version"]) for d in items.find({})}
    assert found == {
        "old": ("active", 4),
        "null": ("active", 1),
        "decided": ("rejected", 7),
        "other": (None, 1),
    }
    assert items.update_many(where(type="applicant", status=None), *backfill).modified_count == 0


def test_upserts(items: Collection[Document]) -> None:
    items.update_one(where(_id="k"), {"$inc": {"runs": 1}, "$set": {"type": "r"}}, upsert=True)
    items.update_one(where(_id="k"), {"$inc": {"runs": 1}, "$set": {"type": "r"}}, upsert=True)
    items.update_one(where(_id="k"), {"$setOnInsert": {"first": 1}}, upsert=True)
    assert items.find_one(where(_id="k")) == {"_id": "k", "runs": 2, "type": "r"}


def test_stage_counter_upserts_on_the_id_alone_and_incs_up_and_down(items: Collection[Document]) -> None:
    """The shape `StageCounts` writes: upsert on `_id`, `$inc` (negative too) one status field, the
    other fields from `$setOnInsert` only when inserted; the listing filter finds it."""
    on_insert = {"type": "stage_count", "org_id": "o1", "application_id": "app1", "stage_id": "stg1"}
    for change in ({"active": 1}, {"active": 1}, {"active": -1, "rejected": 1}, {"rejected": 1}):
        items.update_one(
            where(_id="stage_count:stg1"), {"$inc": change, "$setOnInsert": on_insert}, upsert=True
        )
    items.update_one(
        where(_id="stage_count:stg2"),
        {"$inc": {"active": -1}, "$setOnInsert": {**on_insert, "stage_id": "stg2"}},
        upsert=True,
    )
    found = list(items.find(where(type="stage_count", org_id="o1", application_id="app1")).sort("_id"))
    assert found == [
        {"_id": "stage_count:stg1", **on_insert, "active": 1, "rejected": 2},
        {"_id": "stage_count:stg2", **on_insert, "stage_id": "stg2", "active": -1},
    ]
    assert ids(items.find(where(type="stage_count", org_id="o2", application_id="app1"))) == []
    recount = {"active": 5, "rejected": 0, "withdrawn": 0, "accepted": 0}
    items.update_one(where(_id="stage_count:stg1"), {"$set": recount, "$setOnInsert": on_insert}, upsert=True)
    assert items.find_one(where(_id="stage_count:stg1")) == {
        "_id": "stage_count:stg1",
        **on_insert,
        **recount,
    }
    items.delete_many(where(type="stage_count", org_id="o1", application_id="app1"))
    assert items.find_one(where(type="stage_count")) is None


def test_replace_and_find_one_and_update(items: Collection[Document]) -> None:
    seed(items)
    assert items.replace_one(where(_id="a", n=5), {"n": 9}).matched_count == 0
    assert items.replace_one(where(_id="a", n=1), {"n": 9, "type": "t"}).matched_count == 1
    assert items.find_one(where(_id="a")) == {"_id": "a", "n": 9, "type": "t"}
    after = items.find_one_and_update(
        where(_id="b"), {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
    )
    assert after is not None and after["n"] == 3
    assert items.find_one_and_update(where(_id="b", n=0), {"$inc": {"n": 1}}) is None


def test_conditional_deletes(items: Collection[Document]) -> None:
    seed(items)
    assert items.delete_one(where(_id="a", claim="other")).deleted_count == 0
    assert items.delete_one(where(_id="a")).deleted_count == 1
    assert items.delete_many({"_id": {"$in": ["b", "c"]}, "org_id": {"$eq": "o1"}}).deleted_count == 1
    assert ids(items.find({}).sort("_id")) == ["c", "d"]


def test_unique_and_sparse_indexes(items: Collection[Document]) -> None:
    items.create_index([("unique_key", ASCENDING)], name="unique_key", unique=True, sparse=True)
    items.insert_one({"_id": "1", "unique_key": "k"})
    items.insert_one({"_id": "2"})
    items.insert_one({"_id": "3"})  # many without the key: sparse
    with pytest.raises(DuplicateKeyError):
        items.insert_one({"_id": "4", "unique_key": "k"})
    with pytest.raises(DuplicateKeyError):
        items.insert_one({"_id": "1"})


# ---------------------------------------------------------------------- what the store refuses


def test_the_store_refuses_or_in_write_filters(items: Collection[Document]) -> None:
    risky = {"_id": {"$eq": "b"}, "$or": [{"n": {"$lt": 0}}, {"s": "X"}]}
    for write in (
        lambda: items.update_one(risky, {"$set": {"hit": 1}}),
        lambda: items.update_many(risky, {"$set": {"hit": 1}}),
        lambda: items.replace_one(risky, {"hit": 1}),
        lambda: items.delete_one(risky),
        lambda: items.delete_many(risky),
        lambda: items.find_one_and_update(risky, {"$set": {"hit": 1}}),
        lambda: items.find_one_and_replace(risky, {"hit": 1}),
        lambda: items.find_one_and_delete(risky),
        lambda: items.bulk_write([]),
        lambda: items.replace_one(where(_id="b"), {"hit": 1}, upsert=True),
        lambda: items.find_one_and_replace(where(_id="b"), {"hit": 1}, upsert=True),
    ):
        with pytest.raises(UnsafeQuery):
            write()
    with pytest.raises(UnsafeQuery):
        where(**{"$or": [{"n": 1}]})
    seed(items)
    assert ids(items.find(risky)) == ["b"]  # reads with `$or` are right on both servers


# ---------------------------------------------------------------------- nx-27017's bugs, as they are


def test_or_in_a_write_filter_writes_other_documents(
    backend: tuple[str, MongoClient[Document]], raw: Collection[Document]
) -> None:
    """nx-27017 applies a write whose filter has a top-level `$or` to what the `$or` alone matches.
    If this fails on nx-27017, it was fixed: `refuse_unsafe_write` may let `$or` through."""

    def reset() -> None:
        raw.delete_many({})
        raw.insert_many([{"_id": "A", "s": "X"}, {"_id": "B", "s": "X"}, {"_id": "C", "s": "Y"}])

    either = [{"n": {"$lt": 0}}, {"s": {"$eq": "X"}}]
    reset()
    raw.update_one({"_id": {"$eq": "B"}, "$or": either}, {"$set": {"hit": 1}})
    updated = ids(raw.find({"hit": {"$eq": 1}}))
    reset()
    raw.delete_one({"_id": {"$eq": "C"}, "$or": either})  # matches nothing
    left = ids(raw.find({}).sort("_id"))
    if is_nx(backend):
        assert (updated, left) == (["A"], ["B", "C"]), "nx-27017 now writes `$or` filters right"
    else:
        assert (updated, left) == (["B"], ["A", "B", "C"])


def test_a_date_written_with_set_comes_back_a_string(
    backend: tuple[str, MongoClient[Document]], raw: Collection[Document]
) -> None:
    """nx-27017 stores a top-level datetime written with `$set` as a naive string, which no date
    comparison matches: the store writes dates it compares by whole-document replace or as epoch-ms
    numbers, and the models read such strings back as UTC (`domain.models`)."""
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    raw.insert_one({"_id": "x"})
    raw.update_one({"_id": {"$eq": "x"}}, {"$set": {"at": moment}})
    stored = raw.find_one({"_id": {"$eq": "x"}})
    assert stored is not None
    if is_nx(backend):
        assert isinstance(stored["at"], str), "nx-27017 now keeps `$set` dates as dates"
    else:
        assert stored["at"] == moment


def test_eq_on_an_array_field_does_not_match_its_elements(
    backend: tuple[str, MongoClient[Document]], raw: Collection[Document]
) -> None:
    """MongoDB's `$eq` matches an element of an array field; nx-27017's does not. The store asks
    about membership with `$in`, never `where(tags=...)`."""
    raw.insert_one({"_id": "x", "tags": ["p", "q"]})
    found = ids(raw.find({"tags": {"$eq": "p"}}))
    assert found == ([] if is_nx(backend) else ["x"])


def test_a_replace_upserts_under_a_new_object_id(
    backend: tuple[str, MongoClient[Document]], raw: Collection[Document]
) -> None:
    """nx-27017 inserts a replace's upsert under a fresh ObjectId instead of the filter's `_id`, so
    each one adds a document: the store refuses `upsert` on replaces and upserts with `update_one`."""
    raw.replace_one({"_id": {"$eq": "x"}}, {"v": 1}, upsert=True)
    raw.update_one({"_id": {"$eq": "y"}}, {"$set": {"v": 1}}, upsert=True)
    found = sorted(str(document["_id"]) for document in raw.find({}))
    if is_nx(backend):
        assert "x" not in found and "y" in found, "nx-27017 now upserts replaces under their `_id`"
    else:
        assert found == ["x", "y"]


# ---------------------------------------------------------------------- the idempotency takeover


def test_taking_over_a_lapsed_claim_touches_only_its_own_record(items: Collection[Document]) -> None:
    """The bug that stuck events after a crash: a takeover of one lapsed in-progress record wrote its
    claim onto another stale record, so the event it was for could never be handled again."""
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    store = MongoIdempotencyStore(lambda: items)
    lapsed_ms = epoch_ms(datetime.now(UTC)) - 60_000
    far = int(datetime.now(UTC).timestamp()) + 3600
    for key in ("one", "two", "three"):
        items.insert_one(
            {
                "_id": f"idem_{key}",
                "type": "idempotency",
                "status": "INPROGRESS",
                "expiry": far,
                "in_progress_expiry": lapsed_ms,
                "claim": f"stale-{key}",
            }
        )
    record = DataRecord(
        idempotency_key="two",
        status="INPROGRESS",
        expiry_timestamp=far,
        in_progress_expiry_timestamp=epoch_ms(datetime.now(UTC)) + 60_000,
    )
    store._put_record(record)
    claims = {d["_id"]: d["claim"] for d in items.find({"type": {"$eq": "idempotency"}})}
    assert claims["idem_one"] == "stale-one" and claims["idem_three"] == "stale-three"
    assert claims["idem_two"] not in ("stale-two",)
    # A second delivery of the same event meanwhile finds a live claim: refused.
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError

    with pytest.raises(IdempotencyItemAlreadyExistsError):
        store._put_record(record)
    # A failed attempt drops its own claim only.
    store._delete_record(record)
    assert items.find_one(where(_id="idem_two")) is None
    assert items.count_documents(where(type="idempotency")) == 2
