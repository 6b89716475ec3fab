"""Confirming an upload and listing an applicant's documents: does either cost more when the org holds
100 times as many documents?

Two fresh databases on one nx-27017 (started here with nats-server and moto_server, on free ports),
each with an org, a member, an application whose first stage asks for a file, and two applicants:
one with 3 confirmed documents (listed) and one whose uploads are confirmed. The org holds `--small`
(100) documents in one database and `--large` (10,000) in the other, spread over other applicants and
seeded with raw `insert_many` batches in the shape `Documents.create` writes. Timed, `--repeat` (20)
times each after a warm-up, the two sizes taking turns:

- `list`: the service `list_documents` (membership, the applicant, one indexed query);
- `confirm`: the service `confirm_uploads` for one fresh upload (its record and its object made
  beforehand, untimed): the record, the stage, S3 HEAD and a ranged GET of the first bytes, the tag
  read and written, the record replaced, the event written;
- `list_by_hand` and `confirm_by_hand`, the baseline: the same reads and writes by hand, with pymongo
  and boto3 straight (what the service cannot do with less).

Medians are printed; the target for large/small is at most 1.2x for both services.

    .venv/bin/python bench/documents.py [--small 100] [--large 10000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from list_applicants import Fixture, open_database, timed

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_base import Document, to_document, where
from plutomi.adapters.mongo_documents import Documents
from plutomi.adapters.mongo_outbox import OUTBOX_TYPE
from plutomi.config import get_settings
from plutomi.domain.applicants import Applicant
from plutomi.domain.documents import Document as DocumentRecord
from plutomi.domain.documents import DocumentState, document_key
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.ids import format_id
from plutomi.domain.pipeline import Stage
from plutomi.observability import logger, runtime_logger
from plutomi.runtime.dev import export_with_fresh_database
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.services import applications, documents
from plutomi.services.ports import Dependencies

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
LISTED_DOCUMENTS = 3
KINDS = ("list", "confirm", "list_by_hand", "confirm_by_hand")


@dataclass
class Sized:
    size: int
    deps: Dependencies
    fixture: Fixture
    stage: Stage
    question_id: str
    listed: Applicant  # holds LISTED_DOCUMENTS confirmed documents
    confirming: Applicant  # whose fresh uploads are confirmed
    samples: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def median(self, kind: str) -> float:
        return statistics.median(self.samples[kind])


def new_applicant(deps: Dependencies, fixture: Fixture, name: str) -> Applicant:
    now = deps.clock.now()
    applicant = Applicant(
        id=deps.clock.new_id("apl"),
        org_id=fixture.org_id,
        application_id=fixture.application_id,
        email=f"{name}-{uuid.uuid4().hex[:8]}@example.com",
        first_name=name.title(),
        last_name="Bench",
        stage_id=fixture.stage_id,
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
    )
    deps.store.applicants.create(applicant)
    return applicant


def document_record(sized: Sized, applicant_id: str, state: DocumentState, at: datetime) -> DocumentRecord:
    document_id = format_id("doc", epoch_ms(at), os.urandom(10))
    return DocumentRecord(
        id=document_id,
        org_id=sized.fixture.org_id,
        applicant_id=applicant_id,
        application_id=sized.fixture.application_id,
        stage_id=sized.stage.id,
        question_id=sized.question_id,
        key=document_key(sized.fixture.org_id, applicant_id, document_id),
        file_name="licence.pdf",
        content_type="application/pdf",
        sniffed_type="application/pdf" if state is DocumentState.CONFIRMED else None,
        size_bytes=len(PDF),
        state=state,
        upload_expires_at=at + timedelta(hours=1) if state is DocumentState.PENDING else None,
        created_at=at,
        updated_at=at,
    )


def prepare(base: Dependencies, size: int, insert_batch: int) -> Sized:
    database = open_database(base, size)
    deps, fixture = database.deps, database.fixture
    stage = applications.add_question(
        deps,
        fixture.principal,
        fixture.org_id,
        fixture.application_id,
        fixture.stage_id,
        {"type": "file", "title": "Driving licence", "accepts": ["application/pdf"]},
        None,
    )
    sized = Sized(
        size=size,
        deps=deps,
        fixture=fixture,
        stage=stage,
        question_id=stage.questions[-1].id,
        listed=new_applicant(deps, fixture, "listed"),
        confirming=new_applicant(deps, fixture, "confirming"),
    )
    now = deps.clock.now()
    for _ in range(LISTED_DOCUMENTS):
        deps.store.documents.create(document_record(sized, sized.listed.id, DocumentState.CONFIRMED, now))
    others = [format_id("apl", epoch_ms(now), os.urandom(10)) for _ in range(max(1, size // 10))]
    print(
        f"  seeding {size - LISTED_DOCUMENTS:,} other documents of {len(others):,} applicants ...", flush=True
    )
    batch: list[Document] = []
    for number in range(size - LISTED_DOCUMENTS):
        record = document_record(sized, others[number % len(others)], DocumentState.CONFIRMED, now)
        batch.append(to_document(record, **Documents.index_fields(record)))
        if len(batch) == insert_batch:
            deps.store.items.insert_many(batch, ordered=False)
            batch = []
    if batch:
        deps.store.items.insert_many(batch, ordered=False)
    return sized


def fresh_upload(sized: Sized) -> DocumentRecord:
    """A pending upload of the confirming applicant with its object stored (untimed)."""
    deps = sized.deps
    record = document_record(sized, sized.confirming.id, DocumentState.PENDING, deps.clock.now())
    deps.store.documents.create(record)
    client, bucket = s3_client()
    client.put_object(Bucket=bucket, Key=record.key, Body=PDF, ContentType="application/pdf")
    return record


_s3: tuple[Any, str] | None = None


def s3_client() -> tuple[Any, str]:
    global _s3
    if _s3 is None:
        from plutomi.adapters.s3_storage import S3Storage

        settings = get_settings()
        storage = S3Storage.of_settings(settings)
        _s3 = (storage._client, storage.bucket)
    return _s3


def list_by_hand(sized: Sized) -> list[Document]:
    """The reads `list_documents` needs: the membership, the applicant, the documents on the index."""
    items, fixture = sized.deps.store.items, sized.fixture
    user_id = fixture.principal.user.id
    items.find_one(where(unique_key=f"membership:{fixture.org_id}:{user_id}", org_id=fixture.org_id))
    items.find_one(where(_id=sized.listed.id, type="applicant", org_id=fixture.org_id))
    query = where(type="document", org_id=fixture.org_id, applicant_id=sized.listed.id)
    return list(items.find(query).sort([("sort_key", 1)]).limit(500))


def confirm_by_hand(sized: Sized, record: DocumentRecord) -> None:
    """The I/O of one confirmation, by hand: the record and stage, HEAD, the first bytes, the tags,
    the record replaced and the event written."""
    items, org_id = sized.deps.store.items, sized.fixture.org_id
    client, bucket = s3_client()
    found = items.find_one(where(_id=record.id, type="document", org_id=org_id))
    assert found is not None
    items.find_one(where(_id=sized.stage.id, type="stage", org_id=org_id))
    client.head_object(Bucket=bucket, Key=record.key)
    client.get_object(Bucket=bucket, Key=record.key, Range="bytes=0-63")["Body"].read()
    tags = client.get_object_tagging(Bucket=bucket, Key=record.key)["TagSet"]
    client.put_object_tagging(
        Bucket=bucket, Key=record.key, Tagging={"TagSet": [*tags, {"Key": "k", "Value": "v"}]}
    )
    found["state"] = "confirmed"
    items.replace_one(where(_id=record.id, type="document", org_id=org_id, version=found["version"]), found)
    now = sized.deps.clock.now()
    items.insert_one({"_id": uuid.uuid4().hex, "type": OUTBOX_TYPE, "org_id": org_id, "created_at": now})


def timed_confirm(sized: Sized, by_hand: bool) -> float:
    record = fresh_upload(sized)
    if by_hand:
        return timed(lambda: confirm_by_hand(sized, record))
    answers = {sized.question_id: [record.id]}
    elapsed = timed(lambda: documents.confirm_uploads(sized.deps, sized.confirming, sized.stage, answers))
    confirmed = sized.deps.store.documents.get(sized.fixture.org_id, record.id)
    if confirmed is None or confirmed.state is not DocumentState.CONFIRMED:
        raise SystemExit("documents bench: an upload was not confirmed")
    return elapsed


def calls(sized: Sized) -> dict[str, Callable[[], float]]:
    deps, fixture = sized.deps, sized.fixture

    def listed() -> float:
        found: list[Any] = []
        elapsed = timed(
            lambda: found.extend(
                documents.list_documents(deps, fixture.principal, fixture.org_id, sized.listed.id)
            )
        )
        if len(found) != LISTED_DOCUMENTS:
            raise SystemExit(f"documents bench: listed {len(found)} documents, not {LISTED_DOCUMENTS}")
        return elapsed

    return {
        "list": listed,
        "confirm": lambda: timed_confirm(sized, by_hand=False),
        "list_by_hand": lambda: timed(lambda: list_by_hand(sized)),
        "confirm_by_hand": lambda: timed_confirm(sized, by_hand=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=100, help="documents in the org, baseline size")
    parser.add_argument("--large", type=int, default=10_000, help="documents in the org, large size")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls of each (median taken)")
    parser.add_argument("--insert-batch", type=int, default=2_000, help="documents per insert_many")
    parser.add_argument("--target", type=float, default=1.2, help="the large/small ratio to stay under")
    args = parser.parse_args()
    for quiet in (logger, runtime_logger):
        quiet.setLevel("WARNING")
    print(
        f"documents: confirming an upload and listing an applicant's {LISTED_DOCUMENTS} documents at "
        f"{args.small:,} and {args.large:,} documents in the org, {args.repeat} calls each; "
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    with tempfile.TemporaryDirectory(prefix="plutomi-bench-documents-") as tmp:
        services = EmbeddedServices(Path(tmp) / "services")
        try:
            print("starting nats-server, nx-27017 and moto_server; migrating ...", flush=True)
            bootstrap.override(clock=clock)
            export_with_fresh_database(services, "bench_documents")
            base = bootstrap.dependencies()
            sizes = [
                prepare(base, args.small, args.insert_batch),
                prepare(base, args.large, args.insert_batch),
            ]
            by_size = [(sized, calls(sized)) for sized in sizes]
            for _ in range(2):  # warm-up: connections, caches
                for _sized, by_kind in by_size:
                    for call in by_kind.values():
                        call()
            for _ in range(args.repeat):
                for sized, by_kind in by_size:
                    for kind, call in by_kind.items():
                        sized.samples[kind].append(call())
            for sized in sizes:
                sized.deps.store.client.close()
            base.store.client.close()
        finally:
            bootstrap.reset()
            services.stop()

    small, large = sizes
    print(f"\nmedians of {args.repeat} calls, in ms (by hand: the same I/O with pymongo and boto3):")
    print(f"  {'documents':>9}  {'list':>7}  {'by hand':>7}  {'confirm':>7}  {'by hand':>7}")
    for sized in sizes:
        print(
            f"  {sized.size:>9,}  {sized.median('list'):7.2f}  {sized.median('list_by_hand'):7.2f}"
            f"  {sized.median('confirm'):7.2f}  {sized.median('confirm_by_hand'):7.2f}"
        )
    failed = False
    for kind in ("list", "confirm"):
        ratio = large.median(kind) / small.median(kind)
        by_hand = large.median(f"{kind}_by_hand") / small.median(f"{kind}_by_hand")
        verdict = "PASS" if ratio <= args.target else f"OVER {args.target:g}x"
        failed |= ratio > args.target
        print(
            f"  {args.large:,} / {args.small:,}: {kind:<7} {ratio:.2f}x (by hand {by_hand:.2f}x; "
            f"target <= {args.target:g}x)  {verdict}"
        )
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, load {os.getloadavg()[0]:.2f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
