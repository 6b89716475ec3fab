"""Documents: asking for an upload from the portal, checking uploads before an answer counts, malware
scan results, recruiters' reads, and deleting objects (bad uploads, erasure, org purges, the sweeper).

Files never pass through a handler: the applicant gets a presigned POST for a key of ours, uploads
straight to the bucket, then names the document in an answer. Whatever the store enforced of the
POST's policy, the answer counts only once the object is checked here: it exists, was stored before
the policy ran out, is within the question's limit, and its first bytes are the declared type.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plutomi.domain import events, file_types, limits
from plutomi.domain.applicants import Applicant
from plutomi.domain.decisions import closed_to_the_applicant
from plutomi.domain.documents import (
    CLOCK_SKEW,
    CONFIRMED,
    OPEN_LINK_LIFETIME,
    PENDING_UPLOAD_LIFETIME,
    UNCONFIRMED,
    UPLOAD_POLICY_LIFETIME,
    UPLOAD_TAG,
    Document,
    DocumentState,
    ScanStatus,
    applicant_prefix,
    content_disposition,
    document_key,
    ids_of_key,
    safe_file_name,
    stored_upload_problem,
    upload_request_problem,
    upload_tagging,
)
from plutomi.domain.errors import Conflict, InvalidFields, NotFound
from plutomi.domain.pipeline import Stage
from plutomi.domain.questions import QuestionType
from plutomi.services import rate_limits
from plutomi.services.auth import Principal
from plutomi.services.designs import load_stage
from plutomi.services.moves import load_applicant
from plutomi.services.orgs import require_membership
from plutomi.services.portals import PORTAL_NOT_FOUND, applicant_from_token, confirmed_documents
from plutomi.services.ports import Dependencies, PresignedPost

NOT_YOURS = "names no upload of yours for this question; upload the file again"


@dataclass(frozen=True)
class UploadTicket:
    document: Document
    upload: PresignedPost
    expires_at: datetime  # the form works until then
    max_size_bytes: int


# ---------------------------------------------------------------- the portal


def request_upload(
    deps: Dependencies, token: str, question_id: str, file_name: str, content_type: str, size_bytes: int
) -> UploadTicket:
    """A presigned POST for one file answering a file question of the applicant's current stage."""
    applicant = applicant_from_token(deps, token)
    if applicant.stage_id is None:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    if not applicant.is_active:
        raise closed_to_the_applicant(applicant.status, "uploads")
    stage = load_stage(deps, applicant.org_id, applicant.application_id, applicant.stage_id)
    question = stage.question(question_id)
    if question is None or question.type is not QuestionType.FILE:
        raise InvalidFields(
            "invalid_upload",
            "question_id: is not a file question of your current stage",
            {"question_id": "is not a file question of your current stage"},
        )
    problem = upload_request_problem(question, content_type, size_bytes)
    if problem is not None:
        field = "size_bytes" if problem.startswith("takes files up to") else "content_type"
        raise InvalidFields("invalid_upload", f"{field}: {problem}", {field: problem})
    rate_limits.count(deps, limits.UPLOADS_PER_APPLICANT, applicant.id)
    allowed = file_types.file_type(content_type)
    assert allowed is not None  # upload_request_problem refused anything else
    now = deps.clock.now()
    document_id = deps.clock.new_id("doc")
    document = Document(
        id=document_id,
        org_id=applicant.org_id,
        applicant_id=applicant.id,
        application_id=applicant.application_id,
        stage_id=stage.id,
        question_id=question.id,
        key=document_key(applicant.org_id, applicant.id, document_id),
        file_name=safe_file_name(file_name),
        content_type=allowed.content_type,
        size_bytes=size_bytes,
        scan_status=ScanStatus.NOT_SCANNED if deps.settings.malware_scanning == "off" else ScanStatus.PENDING,
        upload_expires_at=now + PENDING_UPLOAD_LIFETIME,
        created_at=now,
        updated_at=now,
    )
    deps.store.documents.create(document)
    upload = deps.storage.presigned_post(
        document.key,
        allowed.content_type,
        question.max_file_bytes,
        UPLOAD_POLICY_LIFETIME,
        upload_tagging(UNCONFIRMED),
    )
    return UploadTicket(document, upload, now + UPLOAD_POLICY_LIFETIME, question.max_file_bytes)


def confirm_uploads(
    deps: Dependencies, applicant: Applicant, stage: Stage, answers: dict[str, Any]
) -> dict[str, str]:
    """Checks every upload the file answers name; confirms the good ones (tag, record, event) and
    deletes the bad ones, object and record. A message per question whose answer does not count.

    Runs outside the answer's transaction: a rollback could not bring a deleted object back."""
    problems: defaultdict[str, list[str]] = defaultdict(list)
    for question in stage.questions:
        if question.type is not QuestionType.FILE or not answers.get(question.id):
            continue
        for document_id in answers[question.id]:
            problem = _confirm(deps, applicant, question.id, document_id)
            if problem is not None:
                problems[question.id].append(problem)
    return {question_id: "; ".join(found) for question_id, found in problems.items()}


def _confirm(deps: Dependencies, applicant: Applicant, question_id: str, document_id: str) -> str | None:
    document = deps.store.documents.get(applicant.org_id, document_id)
    # Another applicant's upload reads exactly like one that does not exist.
    if document is None or document.applicant_id != applicant.id or document.question_id != question_id:
        return f"{document_id} {NOT_YOURS}"
    if document.state is DocumentState.CONFIRMED:
        return None
    question = load_stage(deps, document.org_id, document.application_id, document.stage_id).question(
        question_id
    )
    now = deps.clock.now()
    if question is None or (document.upload_expires_at is not None and document.upload_expires_at <= now):
        _discard(deps, document)
        return f"the upload of {document.file_name} has expired; upload it again"
    stored = deps.storage.head(document.key)
    late = (
        stored is not None
        and stored.last_modified > document.created_at + UPLOAD_POLICY_LIFETIME + CLOCK_SKEW
    )
    head = (
        deps.storage.first_bytes(document.key, file_types.SNIFF_BYTES)
        if stored and stored.size_bytes
        else b""
    )
    problem, sniffed = stored_upload_problem(
        document, question, stored.size_bytes if stored else None, late, head
    )
    if problem is not None or stored is None or sniffed is None:
        _discard(deps, document)
        return problem
    confirmed = document.model_copy(
        update={
            "state": DocumentState.CONFIRMED,
            "sniffed_type": sniffed.content_type,
            "size_bytes": stored.size_bytes,
            "upload_expires_at": None,
        }
    )
    deps.storage.set_tag(document.key, UPLOAD_TAG, CONFIRMED)
    if deps.store.documents.save(document, confirmed, now) is None:
        again = deps.store.documents.get(document.org_id, document.id)
        # Confirmed by a second submission at once: fine; swept meanwhile: it must be uploaded again.
        return (
            None
            if again is not None and again.state is DocumentState.CONFIRMED
            else f"{document_id} {NOT_YOURS}"
        )
    deps.emit(
        events.DOCUMENT_UPLOADED,
        document.org_id,
        {
            "document_id": document.id,
            "applicant_id": document.applicant_id,
            "application_id": document.application_id,
            "stage_id": document.stage_id,
            "question_id": document.question_id,
            "content_type": sniffed.content_type,
            "size_bytes": stored.size_bytes,
        },
    )
    return None


def _discard(deps: Dependencies, document: Document) -> None:
    """Deletes a bad or expired upload: the record first, so nobody confirms it meanwhile."""
    deps.store.documents.delete(document.org_id, document.id)
    deps.storage.delete(document.key)


# ---------------------------------------------------------------- malware scans


def record_scan_result(
    deps: Dependencies, bucket: str, key: str, status: ScanStatus, detail: str
) -> dict[str, Any]:
    """Records a scanner's verdict on one object. Idempotent: the same verdict again changes nothing."""
    ids = ids_of_key(key)
    if bucket != deps.settings.documents_bucket or ids is None:
        return {"ignored": "not a document of ours"}
    org_id, _, document_id = ids
    for _ in range(3):
        document = deps.store.documents.get(org_id, document_id)
        if document is None:
            return {"ignored": "no such document (deleted since)"}
        if document.scan_status is status and document.scan_detail == detail:
            return {"document_id": document_id, "scan_status": status.value, "changed": False}
        now = deps.clock.now()
        scanned = document.model_copy(
            update={"scan_status": status, "scan_detail": detail, "scanned_at": now}
        )
        if deps.store.documents.save(document, scanned, now) is not None:
            deps.emit(
                events.DOCUMENT_SCANNED,
                org_id,
                {
                    "document_id": document_id,
                    "applicant_id": document.applicant_id,
                    "application_id": document.application_id,
                    "scan_status": status.value,
                },
            )
            return {"document_id": document_id, "scan_status": status.value, "changed": True}
    raise Conflict("concurrent_change", f"{document_id} kept changing; the scan result is retried")


# ---------------------------------------------------------------- recruiters


def list_documents(
    deps: Dependencies, principal: Principal, org_id: str, applicant_id: str
) -> list[Document]:
    require_membership(deps, principal, org_id)
    return confirmed_documents(deps, load_applicant(deps, org_id, applicant_id))


def get_document(deps: Dependencies, principal: Principal, org_id: str, document_id: str) -> Document:
    require_membership(deps, principal, org_id)
    document = deps.store.documents.get(org_id, document_id)
    if document is None or document.state is not DocumentState.CONFIRMED:
        raise NotFound("document_not_found", f"No document {document_id!r} in this organisation")
    return document


def open_document(deps: Dependencies, principal: Principal, org_id: str, document_id: str) -> str:
    """A short-lived link that serves the file as what it is, under the person's name for it. Never
    logged nor sent anywhere but to the caller."""
    document = get_document(deps, principal, org_id, document_id)
    if document.scan_status is ScanStatus.INFECTED:
        raise Conflict(
            "document_infected",
            f"The malware scanner found {document.scan_detail or 'a threat'} in {document.file_name}, so "
            "it cannot be opened; ask the applicant for a clean copy",
        )
    if document.scan_status is ScanStatus.PENDING:
        raise Conflict(
            "document_scan_pending",
            f"{document.file_name} is still being scanned for malware; try again shortly",
        )
    served_as = document.sniffed_type or document.content_type
    return deps.storage.presigned_get(
        document.key, served_as, content_disposition(document.file_name, served_as), OPEN_LINK_LIFETIME
    )


# ---------------------------------------------------------------- deleting


def erase_for_applicant(deps: Dependencies, org_id: str, applicant_id: str) -> int:
    """Deletes the applicant's objects (every version) and then their document records."""
    deleted = deps.storage.delete_prefix(applicant_prefix(org_id, applicant_id))
    deps.store.documents.delete_for_applicant(org_id, applicant_id)
    return deleted


@dataclass
class SweepResult:
    expired: int = 0
    deleted: int = 0


def sweep_uploads(deps: Dependencies, batch_size: int = 500) -> SweepResult:
    """Deletes pending uploads nobody confirmed in time, object and record (on AWS the bucket's
    lifecycle rule for unconfirmed objects is the backstop)."""
    result = SweepResult()
    seen: set[str] = set()
    while True:
        now = deps.clock.now()
        due = [d for d in deps.store.documents.expired_pending(now, batch_size) if d.id not in seen]
        if not due:
            return result
        for document in due:
            seen.add(document.id)
            result.expired += 1
            _discard(deps, document)
            result.deleted += 1
