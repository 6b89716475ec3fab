"""Documents applicants upload: the record, where its object lives, the checks an upload passes before
it counts, how a browser is told to show it, and what a malware scanner's verdict means. Pure.

An object's key is ours (`orgs/{org}/applicants/{applicant}/{document}`), never a name the person
chose: S3 overwrites silently, and a prefix per applicant and per org is what erasure deletes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from plutomi.domain import file_types
from plutomi.domain.file_types import FileType
from plutomi.domain.models import OrgItem
from plutomi.domain.questions import Question
from plutomi.domain.text import display_line

# A presigned POST is good for this long; the browser uploads right after asking.
UPLOAD_POLICY_LIFETIME = timedelta(minutes=10)
# S3's clock and ours may differ a little: an object stored this much after the policy's end still counts.
CLOCK_SKEW = timedelta(minutes=1)
# A pending upload the person never names in an answer is deleted after this long (the upload sweeper;
# on AWS the bucket's lifecycle rule for objects still tagged unconfirmed is the backstop).
PENDING_UPLOAD_LIFETIME = timedelta(hours=1)
# How long a recruiter's link to open a document works.
OPEN_LINK_LIFETIME = timedelta(minutes=5)
MAX_FILE_NAME_LENGTH = 120

# The S3 tag every upload carries until its answer confirms it (the lifecycle rule expires the rest).
UPLOAD_TAG = "plutomi-upload"
UNCONFIRMED = "unconfirmed"
CONFIRMED = "confirmed"


class DocumentState(StrEnum):
    PENDING = "pending"  # asked for and perhaps uploaded, not yet named in a checked answer
    CONFIRMED = "confirmed"  # checked: it exists, is within the limit and is what it says it is


class ScanStatus(StrEnum):
    NOT_SCANNED = "not_scanned"  # no scanner is configured
    PENDING = "pending"  # the scanner has not reported yet
    CLEAN = "clean"
    INFECTED = "infected"
    FAILED = "failed"  # the scanner could not scan it (unsupported, access denied, failed)


class Document(OrgItem):
    TYPE = "document"
    applicant_id: str
    application_id: str
    stage_id: str
    question_id: str
    key: str
    file_name: str  # the person's name for it, as safe to show (`safe_file_name`)
    content_type: str  # declared when the upload was asked for
    sniffed_type: str | None = None  # what its first bytes are, once confirmed
    size_bytes: int  # declared, then the stored object's size once confirmed
    state: DocumentState = DocumentState.PENDING
    scan_status: ScanStatus = ScanStatus.NOT_SCANNED
    scan_detail: str | None = None
    scanned_at: datetime | None = None
    upload_expires_at: datetime | None = None  # pending only: deleted after this unless confirmed
    version: int = 0


# ---------------------------------------------------------------- keys


KEY_PREFIX = "orgs/"  # every object of ours lives under it (the stacks grant on it and scan it)


def applicant_prefix(org_id: str, applicant_id: str) -> str:
    return f"{org_prefix(org_id)}applicants/{applicant_id}/"


def org_prefix(org_id: str) -> str:
    return f"{KEY_PREFIX}{org_id}/"


def document_key(org_id: str, applicant_id: str, document_id: str) -> str:
    return f"{applicant_prefix(org_id, applicant_id)}{document_id}"


_KEY = re.compile(
    re.escape(KEY_PREFIX) + r"(?P<org>[^/]+)/applicants/(?P<applicant>apl_[^/]+)/(?P<document>doc_[^/]+)"
)


def ids_of_key(key: str) -> tuple[str, str, str] | None:
    """(org id, applicant id, document id) of one of our keys; None for any other key."""
    matched = _KEY.fullmatch(key)
    return (matched["org"], matched["applicant"], matched["document"]) if matched else None


def upload_tagging(value: str) -> str:
    """The tag set S3 takes in a POST form's `tagging` field."""
    return f"<Tagging><TagSet><Tag><Key>{UPLOAD_TAG}</Key><Value>{value}</Value></Tag></TagSet></Tagging>"


# ---------------------------------------------------------------- names and headers


def safe_file_name(raw: str) -> str:
    """The person's name for the file, safe to show and to put in a header: its last path part only,
    one line without hidden characters, bounded; "document" when nothing is left."""
    last = re.split(r"[/\\]", raw)[-1]
    return display_line(last, MAX_FILE_NAME_LENGTH).strip(". ") or "document"


def _ascii_fallback(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._ -]", "_", decomposed).strip() or "document"


def content_disposition(file_name: str, content_type: str) -> str:
    """Inline for what browsers show themselves (PDF, most images), an attachment otherwise; the name
    as ASCII for old clients and in full as RFC 5987's `filename*`."""
    allowed = file_types.file_type(content_type)
    kind = "inline" if allowed is not None and allowed.inline else "attachment"
    return f"{kind}; filename=\"{_ascii_fallback(file_name)}\"; filename*=UTF-8''{quote(file_name, safe='')}"


# ---------------------------------------------------------------- checks


def upload_request_problem(question: Question, content_type: str, size_bytes: int) -> str | None:
    """Why this upload may not be asked for under the question; None when it may."""
    allowed = file_types.file_type(content_type)
    accepted = question.accepted_types
    if allowed is None or allowed.content_type not in accepted:
        return f"takes {file_types.labels(accepted)} files, not {content_type[:100]!r}"
    if size_bytes > question.max_file_bytes:
        return (
            f"takes files up to {file_types.megabytes(question.max_file_bytes)}; this one is "
            f"{file_types.megabytes(size_bytes)}"
        )
    return None


def stored_upload_problem(
    document: Document, question: Question, size_bytes: int | None, uploaded_late: bool, head: bytes
) -> tuple[str | None, FileType | None]:
    """Why a stored upload does not count as the answer (a message the person can act on), or None,
    with the type its first bytes are."""
    name = document.file_name
    if size_bytes is None:
        return f"{name} was not uploaded (or the upload did not finish); upload it again", None
    if uploaded_late:
        return f"the upload link for {name} had expired; ask for a new one and upload it again", None
    if size_bytes == 0:
        return f"{name} is empty; upload the file itself", None
    if size_bytes > question.max_file_bytes:
        return (
            f"{name} is {file_types.megabytes(size_bytes)}; the limit is "
            f"{file_types.megabytes(question.max_file_bytes)}. Upload a smaller file",
            None,
        )
    declared = file_types.file_type(document.content_type)
    sniffed = file_types.sniffed_type(head)
    if declared is None or declared.content_type not in question.accepted_types:
        return f"{name}: this question takes {file_types.labels(question.accepted_types)} files", sniffed
    if sniffed is None:
        return (
            f"{name} is not a {declared.label}: its content is none of the types accepted here "
            f"({file_types.labels(question.accepted_types)}). Upload the {declared.label} itself",
            None,
        )
    if sniffed.content_type != declared.content_type:
        return (
            f"{name} is not a {declared.label}: its content is a {sniffed.label}. "
            f"Upload the {declared.label} itself",
            sniffed,
        )
    return None, sniffed


# ---------------------------------------------------------------- malware scans

SCAN_RESULT_DETAIL_TYPE = "GuardDuty Malware Protection Object Scan Result"
# GuardDuty Malware Protection for S3's `scanResultStatus` values, and what each means for a document.
GUARDDUTY_RESULTS: dict[str, ScanStatus] = {
    "NO_THREATS_FOUND": ScanStatus.CLEAN,
    "THREATS_FOUND": ScanStatus.INFECTED,
    "UNSUPPORTED": ScanStatus.FAILED,
    "ACCESS_DENIED": ScanStatus.FAILED,
    "FAILED": ScanStatus.FAILED,
}


class MalformedScanResult(ValueError):
    """Not a GuardDuty object scan result we understand (the message names fields, never values)."""


def parse_scan_result(event: Mapping[str, Any]) -> tuple[str, str, ScanStatus, str]:
    """(bucket, key, status, detail) of an EventBridge "GuardDuty Malware Protection Object Scan
    Result" event; the detail names the threats found, else the verdict in words."""
    if event.get("detail-type") != SCAN_RESULT_DETAIL_TYPE:
        raise MalformedScanResult(f"detail-type is not {SCAN_RESULT_DETAIL_TYPE!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedScanResult("no detail")
    target = detail.get("s3ObjectDetails")
    result = detail.get("scanResultDetails")
    if not isinstance(target, Mapping) or not isinstance(result, Mapping):
        raise MalformedScanResult("detail lacks s3ObjectDetails or scanResultDetails")
    bucket, key, verdict = target.get("bucketName"), target.get("objectKey"), result.get("scanResultStatus")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise MalformedScanResult("s3ObjectDetails lacks bucketName or objectKey")
    if verdict not in GUARDDUTY_RESULTS:
        raise MalformedScanResult(f"scanResultStatus is none of {', '.join(GUARDDUTY_RESULTS)}")
    threats = result.get("threats") or []
    names = [t["name"] for t in threats if isinstance(t, Mapping) and isinstance(t.get("name"), str)]
    detail_text = display_line(", ".join(names), 300) if names else verdict.lower().replace("_", " ")
    return bucket, key, GUARDDUTY_RESULTS[verdict], detail_text
