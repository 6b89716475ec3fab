"""Request and response bodies for documents: asking for an upload, and what recruiters and the portal
see of an upload. Never the object key nor a link: links come only from the open route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from plutomi.domain.documents import Document, ScanStatus
from plutomi.domain.file_types import MAX_FILE_BYTES
from plutomi.entrypoints.schemas import Body
from plutomi.services.documents import UploadTicket


class RequestUpload(Body):
    question_id: Annotated[str, Field(min_length=1, max_length=40)]
    file_name: Annotated[str, Field(min_length=1, max_length=255, description="the file's own name")]
    content_type: Annotated[str, Field(min_length=1, max_length=100, description="e.g. application/pdf")]
    size_bytes: Annotated[int, Field(ge=1, le=MAX_FILE_BYTES, description="the file's size")]


class UploadForm(BaseModel):
    url: str = Field(description="POST a multipart form here")
    fields: dict[str, str] = Field(
        description="every one of these form fields, then the file as `file`, last"
    )


class UploadOut(BaseModel):
    document_id: str = Field(description="name it in the answer to the question once uploaded")
    upload: UploadForm
    expires_at: datetime = Field(description="the form works until then")
    max_size_bytes: int

    @classmethod
    def of(cls, ticket: UploadTicket) -> UploadOut:
        return cls(
            document_id=ticket.document.id,
            upload=UploadForm(url=ticket.upload.url, fields=ticket.upload.fields),
            expires_at=ticket.expires_at,
            max_size_bytes=ticket.max_size_bytes,
        )


class DocumentSummary(BaseModel):
    id: str
    question_id: str
    file_name: str
    content_type: str = Field(description="what its content is (checked by its first bytes)")
    size_bytes: int
    scan_status: ScanStatus = Field(description="not_scanned without a malware scanner")

    @classmethod
    def of(cls, document: Document) -> DocumentSummary:
        return cls(
            id=document.id,
            question_id=document.question_id,
            file_name=document.file_name,
            content_type=document.sniffed_type or document.content_type,
            size_bytes=document.size_bytes,
            scan_status=document.scan_status,
        )


class DocumentOut(DocumentSummary):
    applicant_id: str
    application_id: str
    stage_id: str
    scan_detail: str | None = Field(description="what the scanner found, or why it could not scan")
    scanned_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(
            **DocumentSummary.of(document).model_dump(),
            applicant_id=document.applicant_id,
            application_id=document.application_id,
            stage_id=document.stage_id,
            scan_detail=document.scan_detail,
            scanned_at=document.scanned_at,
            created_at=document.created_at,
        )


class DocumentList(BaseModel):
    documents: list[DocumentOut]
