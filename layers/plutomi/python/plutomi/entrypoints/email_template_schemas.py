"""Request and response bodies of the email-templates API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from plutomi.domain.email_templates import (
    BODY_MAX_LENGTH,
    PLACEHOLDERS,
    SUBJECT_MAX_LENGTH,
    SUBJECT_PLACEHOLDERS,
    RenderedEmail,
    TemplateKind,
)
from plutomi.entrypoints.schemas import Body
from plutomi.entrypoints.text_fields import Text
from plutomi.services.email_templates import TemplateView

Subject = Annotated[
    str,
    Text(max_length=SUBJECT_MAX_LENGTH, min_length=1),
    Field(description="one line; placeholders such as {{first_name}} (not {{portal_link}})"),
]
TemplateBody = Annotated[
    str,
    Text(max_length=BODY_MAX_LENGTH, min_length=1, multiline=True),
    Field(description="plain text; placeholders such as {{first_name}} and {{portal_link}}"),
]


class PutTemplate(Body):
    subject: Subject
    body: TemplateBody


class PreviewTemplate(Body):
    subject: Subject | None = Field(default=None, description="instead of the saved subject")
    body: TemplateBody | None = Field(default=None, description="instead of the saved body")
    applicant_id: Annotated[str | None, Field(max_length=40, description="one of the org's applicants")] = (
        None
    )


class PlaceholderOut(BaseModel):
    name: str
    description: str
    in_subject: bool


PLACEHOLDER_TABLE = [
    PlaceholderOut(name=name, description=description, in_subject=name in SUBJECT_PLACEHOLDERS)
    for name, description in PLACEHOLDERS.items()
]


class TemplateOut(BaseModel):
    kind: TemplateKind
    application_id: str | None
    stage_id: str | None
    subject: str
    body: str
    is_default: bool = Field(description="the built-in text: the org has not written its own")
    sends: bool = Field(
        description="whether it is sent (a stage sends no entry email until the org writes one)"
    )
    updated_at: datetime | None

    @classmethod
    def of(cls, view: TemplateView) -> TemplateOut:
        return cls(
            kind=view.target.kind,
            application_id=view.target.application_id,
            stage_id=view.target.stage_id,
            subject=view.subject,
            body=view.body,
            is_default=view.is_default,
            sends=view.sends,
            updated_at=view.updated_at,
        )


class TemplateList(BaseModel):
    templates: list[TemplateOut]
    placeholders: list[PlaceholderOut]


class PreviewOut(BaseModel):
    subject: str
    text: str
    html: str

    @classmethod
    def of(cls, rendered: RenderedEmail) -> PreviewOut:
        return cls(subject=rendered.subject, text=rendered.text, html=rendered.html)
