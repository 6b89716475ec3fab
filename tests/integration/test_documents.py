"""Documents against moto's S3 and the running stack: an upload is asked for from the portal, POSTed
straight to the bucket with the presigned form, and counts only once the answer's checks pass; bad
uploads are deleted; recruiters open documents through a short-lived link; erasure, org purges and
the upload sweeper delete objects (every version).

moto's server accepts POSTs that break the policy (size, content type, an expired policy), so these
tests prove the server-side checks, which hold whatever the store enforces."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.adapters.mongo_base import where
from plutomi.adapters.mongo_outbox import OUTBOX_TYPE
from plutomi.adapters.s3_storage import S3Storage
from plutomi.config import get_settings, load_settings
from plutomi.domain.documents import DocumentState, ScanStatus, applicant_prefix
from plutomi.domain.events import DOCUMENT_SCANNED, DOCUMENT_UPLOADED
from plutomi.runtime.aws_events import schedule_event
from plutomi.runtime.functions import invoke
from plutomi.services import applicants, org_purge
from plutomi.services.ports import Dependencies
from tests.conftest import unique_email, unique_org_id
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 40
)
LIMIT = 1000  # the question's largest file, small so a too-big file stays small


@dataclass
class Pipeline:
    recruiter: Api
    public: Api
    org_id: str
    app_id: str
    upload_stage: str
    review_stage: str
    question_id: str


@dataclass
class Person:
    applicant_id: str
    token: str


def s3() -> Any:
    storage = S3Storage.of_settings(get_settings())
    return storage._client, storage.bucket


@pytest.fixture
def pipeline(stack: RunningStack, clock: FixedClock) -> Pipeline:
    """An open application: Document Upload (a licence, PDF or PNG up to LIMIT bytes) -> Final Review,
    with the rule "licence uploaded -> Final Review"."""
    org_id = unique_org_id("docs")
    recruiter = sign_in(stack.base_url, unique_email("recruiter"))
    assert recruiter.post("/orgs", json={"id": org_id, "display_name": "Vans"}).status_code == 201
    app_id = recruiter.post(f"/orgs/{org_id}/applications", json={"name": "Drivers"}).json()["id"]
    base = f"/orgs/{org_id}/applications/{app_id}"
    recruiter.post(f"{base}/stages", json={"name": "Document Upload"})
    stages = recruiter.post(f"{base}/stages", json={"name": "Final Review"}).json()["stages"]
    upload_stage, review_stage = stages[0]["id"], stages[1]["id"]
    question = {
        "type": "file",
        "title": "Driving licence",
        "accepts": ["application/pdf", "image/png"],
        "max_size_bytes": LIMIT,
    }
    added = recruiter.post(f"{base}/stages/{upload_stage}/questions", json=question)
    assert added.status_code == 201, added.text
    question_id = added.json()["questions"][-1]["id"]
    rule = {
        "kind": "answer",
        "to_stage_id": review_stage,
        "conditions": [{"question_id": question_id, "operator": "is_present"}],
    }
    assert recruiter.post(f"{base}/stages/{upload_stage}/rules", json={"rule": rule}).status_code == 201
    assert recruiter.patch(base, json={"status": "open"}).status_code == 200
    return Pipeline(recruiter, Api(stack.base_url), org_id, app_id, upload_stage, review_stage, question_id)


def applicant(deps: Dependencies, pipeline: Pipeline, name: str = "bob") -> Person:
    email = unique_email(name)
    applied = pipeline.public.post(
        f"/public/orgs/{pipeline.org_id}/applications/{pipeline.app_id}/applicants",
        json={"email": email, "first_name": name.title(), "last_name": "Driver"},
    )
    assert applied.status_code == 202, applied.text
    found = deps.store.applicants.get_by_email(pipeline.org_id, pipeline.app_id, email)
    assert found is not None
    link = applicants.issue_portal_link(deps, pipeline.org_id, found.id)
    assert link is not None
    return Person(found.id, link[2].rsplit("/", 1)[1])


def ask(pipeline: Pipeline, person: Person, **overrides: Any) -> httpx.Response:
    body = {
        "question_id": pipeline.question_id,
        "file_name": "licence.pdf",
        "content_type": "application/pdf",
        "size_bytes": len(PDF),
    } | overrides
    return pipeline.public.post(f"/public/applicants/{person.token}/uploads", json=body)


def upload(ticket: dict[str, Any], content: bytes, content_type: str = "application/pdf") -> httpx.Response:
    """As a browser posts the form: every returned field, then the file."""
    form = ticket["upload"]
    return httpx.post(form["url"], data=form["fields"], files={"file": ("licence", content, content_type)})


def answer(pipeline: Pipeline, person: Person, *document_ids: str) -> httpx.Response:
    return pipeline.public.post(
        f"/public/applicants/{person.token}/answers",
        json={"answers": {pipeline.question_id: list(document_ids)}},
    )


def confirmed_upload(deps: Dependencies, pipeline: Pipeline) -> tuple[Person, dict[str, Any]]:
    """A new applicant whose licence PDF was uploaded and counted; the upload request's answer."""
    bob = applicant(deps, pipeline)
    ticket = ask(pipeline, bob).json()
    upload(ticket, PDF)
    assert answer(pipeline, bob, ticket["document_id"]).status_code == 200
    return bob, ticket


def stored(key: str) -> bool:
    client, bucket = s3()
    return bool(client.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


def outbox(deps: Dependencies, org_id: str, event_type: str) -> list[dict[str, Any]]:
    found = deps.store.items.find(where(type=OUTBOX_TYPE, org_id=org_id))
    return [d["event"] for d in found if d["event"]["type"] == event_type]


def test_an_upload_within_limits_counts_once_answered_and_the_rule_moves_them(
    deps: Dependencies, pipeline: Pipeline
) -> None:
    bob = applicant(deps, pipeline)
    asked = ask(pipeline, bob, file_name="../Carta de condução ✓.pdf")
    assert asked.status_code == 201, asked.text
    ticket = asked.json()
    fields = ticket["upload"]["fields"]
    document_id = ticket["document_id"]
    key = f"orgs/{pipeline.org_id}/applicants/{bob.applicant_id}/{document_id}"
    assert fields["key"] == key and fields["Content-Type"] == "application/pdf"
    assert "<Value>unconfirmed</Value>" in fields["tagging"]
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    assert ["content-length-range", 1, LIMIT] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert ticket["max_size_bytes"] == LIMIT

    assert upload(ticket, PDF).status_code in (200, 201, 204)
    # S3 tags the object from the form's `tagging` field; moto's server ignores that field, so the tag
    # a scanner adds stands in for the tags an object has before its answer.
    client, bucket = s3()
    scanner_tag = {"Key": "GuardDutyMalwareScanStatus", "Value": "NO_THREATS_FOUND"}
    client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [scanner_tag]})

    answered = answer(pipeline, bob, document_id)
    assert answered.status_code == 200, answered.text
    assert answered.json()["stage"]["id"] == pipeline.review_stage  # is_present moved them at once
    tags = client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    assert tags == [scanner_tag, {"Key": "plutomi-upload", "Value": "confirmed"}]  # the scanner's kept
    document = deps.store.documents.get(pipeline.org_id, document_id)
    assert document is not None and document.state is DocumentState.CONFIRMED
    assert document.sniffed_type == "application/pdf" and document.size_bytes == len(PDF)
    assert document.scan_status is ScanStatus.NOT_SCANNED and document.file_name == "Carta de condução ✓.pdf"
    (uploaded,) = outbox(deps, pipeline.org_id, DOCUMENT_UPLOADED)
    assert uploaded["data"] == {
        "document_id": document_id,
        "applicant_id": bob.applicant_id,
        "application_id": pipeline.app_id,
        "stage_id": pipeline.upload_stage,
        "question_id": pipeline.question_id,
        "content_type": "application/pdf",
        "size_bytes": len(PDF),
    }

    # The recruiter lists and opens it: a redirect to a link that serves the bytes as a PDF, inline.
    listed = pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/applicants/{bob.applicant_id}/documents")
    assert [d["id"] for d in listed.json()["documents"]] == [document_id]
    assert listed.json()["documents"][0]["scan_status"] == "not_scanned"
    opened = pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/documents/{document_id}/open")
    assert opened.status_code == 302, opened.text
    assert opened.headers["cache-control"] == "no-store"
    served = httpx.get(opened.headers["location"])
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == (  # ASCII for old clients, RFC 5987 for the rest
        'inline; filename="Carta de conducao .pdf"; '
        "filename*=UTF-8''Carta%20de%20condu%C3%A7%C3%A3o%20%E2%9C%93.pdf"
    )

    # Back in Document Upload, the portal shows the answer as the upload, not a bare id.
    back = {"from_stage_id": pipeline.review_stage, "to_stage_id": pipeline.upload_stage}
    moved = pipeline.recruiter.post(f"/orgs/{pipeline.org_id}/applicants/{bob.applicant_id}/move", json=back)
    assert moved.status_code == 200, moved.text
    shown = pipeline.public.get(f"/public/applicants/{bob.token}").json()["stage"]["answers"]
    assert shown == {
        pipeline.question_id: [
            {
                "id": document_id,
                "question_id": pipeline.question_id,
                "file_name": "Carta de condução ✓.pdf",
                "content_type": "application/pdf",
                "size_bytes": len(PDF),
                "scan_status": "not_scanned",
            }
        ]
    }


def test_a_file_larger_than_the_limit_is_refused_and_deleted(deps: Dependencies, pipeline: Pipeline) -> None:
    bob = applicant(deps, pipeline)
    too_big = ask(pipeline, bob, size_bytes=LIMIT + 1)
    assert too_big.status_code == 422 and too_big.json()["error"]["code"] == "invalid_upload"
    assert too_big.json()["error"]["details"][0]["field"] == "size_bytes"

    ticket = ask(pipeline, bob).json()  # declares a small file, then sends a big one: moto takes it
    assert upload(ticket, PDF + b"0" * LIMIT).status_code in (200, 201, 204)
    refused = answer(pipeline, bob, ticket["document_id"])
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_answers"
    message = refused.json()["error"]["details"][0]["message"]
    assert "licence.pdf is" in message and "the limit is" in message and "Upload a smaller file" in message
    assert not stored(ticket["upload"]["fields"]["key"])
    assert deps.store.documents.get(pipeline.org_id, ticket["document_id"]) is None
    assert answer(pipeline, bob, ticket["document_id"]).status_code == 422  # gone for good


def test_a_file_whose_bytes_are_not_the_declared_type_is_refused_and_deleted(
    deps: Dependencies, pipeline: Pipeline
) -> None:
    bob = applicant(deps, pipeline)
    assert (
        ask(pipeline, bob, content_type="text/html").json()["error"]["details"][0]["field"] == "content_type"
    )
    ticket = ask(pipeline, bob).json()
    assert upload(ticket, PNG, "application/pdf").status_code in (200, 201, 204)
    refused = answer(pipeline, bob, ticket["document_id"])
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {
            "field": pipeline.question_id,
            "message": "licence.pdf is not a PDF: its content is a PNG image. Upload the PDF itself",
        }
    ]
    assert not stored(ticket["upload"]["fields"]["key"])
    assert deps.store.documents.get(pipeline.org_id, ticket["document_id"]) is None


def test_an_upload_after_its_policy_expired_or_never_answered_in_time_does_not_count(
    deps: Dependencies, pipeline: Pipeline
) -> None:
    bob = applicant(deps, pipeline)
    # The form was issued 15 minutes ago (10 minutes is its life): moto still stores the POST, so the
    # object's LastModified is what tells it came too late.
    real_now = datetime.now(UTC).replace(microsecond=0)
    bootstrap.override(clock=FixedClock(real_now - timedelta(minutes=15)))
    ticket = ask(pipeline, bob).json()
    bootstrap.override(clock=FixedClock(real_now))
    assert upload(ticket, PDF).status_code in (200, 201, 204)  # S3 itself would answer 403
    late = answer(pipeline, bob, ticket["document_id"])
    assert late.status_code == 422
    assert "upload link for licence.pdf had expired" in late.json()["error"]["details"][0]["message"]
    assert not stored(ticket["upload"]["fields"]["key"])

    # Uploaded in time but named in an answer only after the pending upload's life (1 hour).
    clock = FixedClock(real_now)
    bootstrap.override(clock=clock)
    ticket = ask(pipeline, bob).json()
    assert upload(ticket, PDF).status_code in (200, 201, 204)
    clock.advance(timedelta(hours=1, seconds=1))
    expired = answer(pipeline, bob, ticket["document_id"])
    assert expired.status_code == 422 and "has expired" in expired.json()["error"]["details"][0]["message"]
    assert not stored(ticket["upload"]["fields"]["key"])


def test_another_applicants_document_is_refused_like_an_unknown_one_and_left_alone(
    deps: Dependencies, pipeline: Pipeline
) -> None:
    bob, eve = applicant(deps, pipeline, "bob"), applicant(deps, pipeline, "eve")
    bobs = ask(pipeline, bob).json()
    assert upload(bobs, PDF).status_code in (200, 201, 204)
    stolen = answer(pipeline, eve, bobs["document_id"])
    made_up = answer(pipeline, eve, "doc_01JZZZZZZZZZZZZZZZZZZZZZZZ")
    assert stolen.status_code == made_up.status_code == 422
    message = stolen.json()["error"]["details"][0]["message"]
    assert message == made_up.json()["error"]["details"][0]["message"].replace(
        "doc_01JZZZZZZZZZZZZZZZZZZZZZZZ", bobs["document_id"]
    )
    assert "bob" not in message.lower() and "licence" not in message
    assert stored(bobs["upload"]["fields"]["key"])  # Bob's upload is untouched, and still his
    assert answer(pipeline, bob, bobs["document_id"]).status_code == 200


def test_erasing_an_applicant_deletes_every_version_of_their_objects(
    deps: Dependencies, pipeline: Pipeline
) -> None:
    client, bucket = s3()
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    try:
        bob = applicant(deps, pipeline)
        ticket = ask(pipeline, bob).json()
        key = ticket["upload"]["fields"]["key"]
        upload(ticket, PDF)
        assert answer(pipeline, bob, ticket["document_id"]).status_code == 200
        client.put_object(Bucket=bucket, Key=key, Body=PDF + b"%second version")
        prefix = applicant_prefix(pipeline.org_id, bob.applicant_id)
        assert len(client.list_object_versions(Bucket=bucket, Prefix=prefix).get("Versions", [])) == 2

        erased = pipeline.recruiter.delete(f"/orgs/{pipeline.org_id}/applicants/{bob.applicant_id}")
        assert erased.status_code == 204, erased.text
        left = client.list_object_versions(Bucket=bucket, Prefix=prefix)
        assert not left.get("Versions") and not left.get("DeleteMarkers")
        assert deps.store.documents.for_applicant(pipeline.org_id, bob.applicant_id) == []
    finally:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})


def test_purging_a_deleted_org_deletes_its_objects(
    deps: Dependencies, pipeline: Pipeline, clock: FixedClock
) -> None:
    confirmed_upload(deps, pipeline)
    assert pipeline.recruiter.delete(f"/orgs/{pipeline.org_id}").status_code == 204
    assert stored(f"orgs/{pipeline.org_id}/")  # the org's data waits out the grace period
    clock.advance(org_purge.GRACE + timedelta(seconds=1))
    deadline = time.monotonic() + 30
    # The relay publishes the org's last events first; till then the purge is "waiting".
    while (outcome := org_purge.purge_org(deps, pipeline.org_id, lambda: True).outcome) != "finished":
        if outcome == "not_deleted":  # the org-purge consumer finished it meanwhile
            break
        assert time.monotonic() < deadline, f"the purge never finished: {outcome}"
        time.sleep(0.1)
    assert not stored(f"orgs/{pipeline.org_id}/")
    assert deps.store.orgs.get_tombstone(pipeline.org_id) is None


def test_the_upload_sweeper_deletes_uploads_never_confirmed(
    deps: Dependencies, pipeline: Pipeline, clock: FixedClock
) -> None:
    bob = applicant(deps, pipeline)
    forgotten, kept = ask(pipeline, bob).json(), ask(pipeline, bob).json()
    upload(forgotten, PDF)
    upload(kept, PDF)
    assert answer(pipeline, bob, kept["document_id"]).status_code == 200
    clock.advance(timedelta(minutes=59))
    invoke("scheduled.upload_sweeper", schedule_event())
    assert stored(forgotten["upload"]["fields"]["key"])
    clock.advance(timedelta(minutes=2))
    assert invoke("scheduled.upload_sweeper", schedule_event())["deleted"] >= 1
    assert not stored(forgotten["upload"]["fields"]["key"])
    assert deps.store.documents.get(pipeline.org_id, forgotten["document_id"]) is None
    assert stored(kept["upload"]["fields"]["key"])  # confirmed: never swept


def scan_result(key: str, verdict: str, threats: list[str] | None = None) -> dict[str, Any]:
    body = {
        "detail-type": "GuardDuty Malware Protection Object Scan Result",
        "source": "aws.guardduty",
        "detail": {
            "scanStatus": "COMPLETED",
            "resourceType": "S3_OBJECT",
            "s3ObjectDetails": {"bucketName": get_settings().documents_bucket, "objectKey": key},
            "scanResultDetails": {
                "scanResultStatus": verdict,
                "threats": [{"name": name} for name in threats] if threats else None,
            },
        },
    }
    return {
        "messageId": str(uuid.uuid4()),
        "body": json.dumps(body),
        "attributes": {},
        "eventSource": "aws:sqs",
    }


def test_an_infected_document_cannot_be_opened_and_says_why(deps: Dependencies, pipeline: Pipeline) -> None:
    _, ticket = confirmed_upload(deps, pipeline)
    key, document_id = ticket["upload"]["fields"]["key"], ticket["document_id"]
    junk = {"messageId": "junk", "body": "{}", "attributes": {}, "eventSource": "aws:sqs"}
    infected = scan_result(key, "THREATS_FOUND", ["EICAR-Test-File"])
    handled = invoke("consumers.malware_scan", {"Records": [infected, junk]})
    assert handled == {"batchItemFailures": [{"itemIdentifier": "junk"}]}
    assert invoke("consumers.malware_scan", {"Records": [infected]}) == {"batchItemFailures": []}
    assert len(outbox(deps, pipeline.org_id, DOCUMENT_SCANNED)) == 1  # the same verdict again: no change

    details = pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/documents/{document_id}").json()
    assert details["scan_status"] == "infected" and details["scan_detail"] == "EICAR-Test-File"
    refused = pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/documents/{document_id}/open")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "document_infected"
    assert "EICAR-Test-File" in refused.json()["error"]["message"]

    document = deps.store.documents.get(pipeline.org_id, document_id)
    assert document is not None
    scanning = document.model_copy(update={"scan_status": ScanStatus.PENDING})
    deps.store.documents.save(document, scanning, deps.clock.now())
    pending = pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/documents/{document_id}/open")
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "document_scan_pending"
    invoke("consumers.malware_scan", {"Records": [scan_result(key, "NO_THREATS_FOUND")]})
    assert pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/documents/{document_id}/open").status_code == 302


def test_another_orgs_member_sees_nothing(
    stack: RunningStack, deps: Dependencies, pipeline: Pipeline
) -> None:
    bob, ticket = confirmed_upload(deps, pipeline)
    stranger = sign_in(stack.base_url, unique_email("stranger"))
    other_org = unique_org_id("other")
    assert stranger.post("/orgs", json={"id": other_org, "display_name": "Other"}).status_code == 201
    document_id = ticket["document_id"]
    for path in (
        f"/orgs/{pipeline.org_id}/documents/{document_id}",
        f"/orgs/{pipeline.org_id}/documents/{document_id}/open",
        f"/orgs/{pipeline.org_id}/applicants/{bob.applicant_id}/documents",
    ):
        assert stranger.get(path).status_code in (403, 404)
    for path in (
        f"/orgs/{other_org}/documents/{document_id}",
        f"/orgs/{other_org}/documents/{document_id}/open",
    ):
        answered = stranger.get(path)
        assert answered.status_code == 404 and answered.json()["error"]["code"] == "document_not_found"
    assert stranger.get(f"/orgs/{other_org}/applicants/{bob.applicant_id}/documents").status_code == 404


@pytest.fixture
def captured_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    capfd.readouterr()
    yield capfd


def test_the_open_link_never_reaches_the_logs(
    deps: Dependencies, pipeline: Pipeline, captured_logs: pytest.CaptureFixture[str]
) -> None:
    _, ticket = confirmed_upload(deps, pipeline)
    captured_logs.readouterr()
    opened = pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/documents/{ticket['document_id']}/open")
    assert opened.status_code == 302
    signature = parse_qs(urlsplit(opened.headers["location"]).query)["X-Amz-Signature"][0]
    printed = captured_logs.readouterr()
    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    assert signature not in printed.out + printed.err
    assert "X-Amz-Signature" not in printed.out + printed.err
    # Nor any event: the outbox holds ids and metadata only.
    events = deps.store.items.find(where(type=OUTBOX_TYPE, org_id=pipeline.org_id))
    assert all("X-Amz" not in json.dumps(e["event"]) for e in events)


def test_the_documents_store_may_have_keys_of_its_own(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MinIO beside AWS's SES: S3 signs with PLUTOMI_S3_* keys, every other client with the default
    chain; one of the two alone is refused by name."""
    monkeypatch.setenv("PLUTOMI_S3_ACCESS_KEY_ID", "minio-key")
    monkeypatch.setenv("PLUTOMI_S3_SECRET_ACCESS_KEY", "minio-secret")
    own = S3Storage.of_settings(load_settings())
    assert own._client._request_signer._credentials.access_key == "minio-key"
    assert own.ensure_bucket() is False  # moto takes any keys: the bucket is found with them
    monkeypatch.delenv("PLUTOMI_S3_SECRET_ACCESS_KEY")
    with pytest.raises(RuntimeError, match="PLUTOMI_S3_ACCESS_KEY_ID and PLUTOMI_S3_SECRET_ACCESS_KEY"):
        load_settings()
    monkeypatch.delenv("PLUTOMI_S3_ACCESS_KEY_ID")
    default = S3Storage.of_settings(load_settings())
    assert default._client._request_signer._credentials.access_key != "minio-key"


def test_a_decided_applicant_asks_for_no_more_uploads(deps: Dependencies, pipeline: Pipeline) -> None:
    person = applicant(deps, pipeline, "rejected")
    reasons = pipeline.recruiter.get(f"/orgs/{pipeline.org_id}/rejection-reasons").json()["rejection_reasons"]
    rejected = pipeline.recruiter.post(
        f"/orgs/{pipeline.org_id}/applicants/{person.applicant_id}/reject",
        json={"reason_id": reasons[0]["id"], "send_email": False},
    )
    assert rejected.status_code == 200, rejected.text
    refused = ask(pipeline, person)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "applicant_not_active"
    assert "rejected" in refused.json()["error"]["message"]
    assert deps.store.documents.for_applicant(pipeline.org_id, person.applicant_id) == []
