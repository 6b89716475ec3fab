"""Decision emails an org writes itself: one template for "rejected" and one per stage for "entered
stage X", a subject and a body each, with a few placeholders. Pure.

Rendering is ours and does one thing: a placeholder `{{name}}` (spaces inside the braces allowed) is
replaced by a value. No attribute access, no filters, no expressions, no loops, no includes: a
template is a list of literal texts and names from `PLACEHOLDERS`, parsed before it is stored, so
nothing a recruiter types can run code or read data other than those values. What `parse` refuses:

- `unknown_placeholder`: a name not in `PLACEHOLDERS` (`{{__class__}}`, `{{email}}`), and
  `{{portal_link}}` in a subject (a secret link in the line every inbox list and notification shows);
- `invalid_template`: anything between the braces that is not a bare name (`{{ first_name.upper }}`,
  `{{ org | upper }}`, nested braces such as `{{{{org}}}}`), a `{{` without its `}}`, a stray `}}`,
  and `{%` or `{#` (template logic and comments, which this renderer does not have).

Values are inserted once, in a single pass over the parsed template, so a value that itself looks
like a placeholder (an org called `{{org}}`) is shown as typed, never expanded. Each value is put on
one line (`domain/text.display_line`: line breaks and control characters become spaces, bidi
controls go, bounded), then HTML-escaped and isolated with `<bdi>` in the HTML part. The portal link
is the only URL we link: it is ours, and the HTML part makes it a link; the recruiter's own text is
escaped and never linked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import Final

from plutomi.domain.emails import NAME_LENGTH, OutgoingEmail, bdi, html_layout, name_line
from plutomi.domain.errors import InvalidInput
from plutomi.domain.models import OrgItem
from plutomi.domain.text import body_text, display_line


class TemplateKind(StrEnum):
    REJECTED = "rejected"  # one per org
    STAGE_ENTERED = "stage_entered"  # one per stage; a stage without one sends no entry email


SUBJECT_MAX_LENGTH: Final = 200
BODY_MAX_LENGTH: Final = 5000
RENDERED_SUBJECT_MAX_LENGTH: Final = 300  # the subject with its values in

PORTAL_LINK: Final = "portal_link"
# Every placeholder there is, with what it becomes. Never the rejection reason or a recruiter's note:
# those are internal.
PLACEHOLDERS: Final[dict[str, str]] = {
    "first_name": 'The applicant\'s first name ("there" when they gave none)',
    "application": "The application's name",
    "org": "The organisation's display name",
    "stage": "The stage: the one entered, or for a rejection the one the applicant was in",
    PORTAL_LINK: "The applicant's private link to their application page (body only)",
}
SUBJECT_PLACEHOLDERS: Final = frozenset(PLACEHOLDERS) - {PORTAL_LINK}
BODY_PLACEHOLDERS: Final = frozenset(PLACEHOLDERS)
NO_FIRST_NAME: Final = "there"

UNKNOWN_PLACEHOLDER = "unknown_placeholder"
INVALID_TEMPLATE = "invalid_template"

_MARKER = re.compile(r"\{\{|\}\}|\{%|\{#")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Placeholder:
    name: str


Segment = str | Placeholder


class EmailTemplate(OrgItem):
    """An org's own text for one kind of decision email (and, for `stage_entered`, one stage)."""

    TYPE = "email_template"
    kind: TemplateKind
    application_id: str | None = None  # stage_entered only
    stage_id: str | None = None  # stage_entered only
    subject: str
    body: str
    updated_by: str
    version: int = 0


@dataclass(frozen=True)
class DefaultTemplate:
    subject: str
    body: str


DEFAULTS: Final[dict[TemplateKind, DefaultTemplate]] = {
    TemplateKind.REJECTED: DefaultTemplate(
        subject="Your application to {{application}}",
        body=(
            "Hi {{first_name}},\n\n"
            "Thank you for applying to {{application}} at {{org}}. After careful consideration we have "
            "decided not to go further with your application.\n\n"
            "We appreciate the time you gave us and wish you all the best.\n\n"
            "{{org}}"
        ),
    ),
    TemplateKind.STAGE_ENTERED: DefaultTemplate(
        subject="{{application}}: your next step",
        body=(
            "Hi {{first_name}},\n\n"
            "Your application to {{application}} at {{org}} has moved on to: {{stage}}.\n\n"
            "See where you are and what comes next on your application page:\n"
            "{{portal_link}}\n\n"
            "{{org}}"
        ),
    ),
}


def _known(allowed: frozenset[str]) -> str:
    return ", ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS if name in allowed)


def parse(text: str, allowed: frozenset[str], where: str = "body") -> tuple[Segment, ...]:
    """The template as literal texts and placeholders, or InvalidInput saying what to change."""
    segments: list[Segment] = []
    position = 0
    for marker in _MARKER.finditer(text):
        if marker.start() < position:
            continue  # inside a placeholder already read
        found = marker.group()
        if found in ("{%", "{#"):
            raise InvalidInput(
                INVALID_TEMPLATE,
                f"The {where} has {found!r}: templates have no logic or comments, only placeholders "
                f"such as {{{{first_name}}}}. Known placeholders: {_known(allowed)}",
            )
        if found == "}}":
            raise InvalidInput(
                INVALID_TEMPLATE,
                f"The {where} has a '}}}}' without its '{{{{'. Known placeholders: {_known(allowed)}",
            )
        end = text.find("}}", marker.end())
        if end == -1:
            raise InvalidInput(
                INVALID_TEMPLATE,
                f"The {where} has a '{{{{' without its '}}}}'. Known placeholders: {_known(allowed)}",
            )
        inside = text[marker.end() : end]
        name = inside.strip(" ")
        if not _NAME.fullmatch(name):
            shown = display_line(inside, 40)
            raise InvalidInput(
                INVALID_TEMPLATE,
                f"The {where} has {{{{{shown}}}}}: a placeholder is a name only, without dots, filters or "
                f"braces. Known placeholders: {_known(allowed)}",
            )
        if name not in allowed:
            only_body = name in PLACEHOLDERS
            raise InvalidInput(
                UNKNOWN_PLACEHOLDER,
                f"{{{{{name}}}}} can only be used in the body. Known placeholders here: {_known(allowed)}"
                if only_body
                else f"The {where} has an unknown placeholder {{{{{name}}}}}. Known placeholders: "
                f"{_known(allowed)}",
            )
        if marker.start() > position:
            segments.append(text[position : marker.start()])
        segments.append(Placeholder(name))
        position = end + 2
    if position < len(text):
        segments.append(text[position:])
    return tuple(segments)


def check_template(subject: str, body: str) -> None:
    """Raises InvalidInput (`unknown_placeholder`, `invalid_template`) unless both parts parse."""
    parse(subject, SUBJECT_PLACEHOLDERS, "subject")
    parse(body, BODY_PLACEHOLDERS, "body")


def uses_portal_link(body: str) -> bool:
    """Whether rendering needs a portal link (one is minted only then: it is a new secret)."""
    return Placeholder(PORTAL_LINK) in parse(body, BODY_PLACEHOLDERS)


@dataclass(frozen=True)
class TemplateValues:
    """What the placeholders become: names as stored (made safe here), and the link we minted."""

    first_name: str
    application: str
    org: str
    stage: str
    portal_link: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str

    def to(self, address: str) -> OutgoingEmail:
        """A decision email: not essential, so unsubscribing stops it."""
        return OutgoingEmail(to=address, subject=self.subject, text=self.text, html=self.html)


def _lines(values: TemplateValues) -> dict[str, str]:
    return {
        "first_name": display_line(values.first_name, NAME_LENGTH) or NO_FIRST_NAME,
        "application": name_line(values.application),
        "org": name_line(values.org),
        "stage": name_line(values.stage),
        PORTAL_LINK: display_line(values.portal_link, 2000),
    }


def _html(segments: tuple[Segment, ...], lines: dict[str, str]) -> str:
    parts = []
    for segment in segments:
        if isinstance(segment, str):
            parts.append(escape(segment).replace("\n", "<br>\n"))
        elif segment.name == PORTAL_LINK:
            link = lines[PORTAL_LINK]
            parts.append(f'<a href="{escape(link, quote=True)}">{escape(link)}</a>')
        else:
            parts.append(bdi(lines[segment.name]))
    return f'<p dir="auto">{"".join(parts)}</p>'


def render(subject: str, body: str, values: TemplateValues) -> RenderedEmail:
    """The email a template makes with these values. Each value goes in once, as text."""
    lines = _lines(values)
    subject_segments = parse(subject, SUBJECT_PLACEHOLDERS, "subject")
    body_segments = parse(body, BODY_PLACEHOLDERS, "body")

    def text_of(segments: tuple[Segment, ...]) -> str:
        return "".join(s if isinstance(s, str) else lines[s.name] for s in segments)

    rendered_subject = display_line(text_of(subject_segments), RENDERED_SUBJECT_MAX_LENGTH)
    return RenderedEmail(
        subject=rendered_subject,
        text=body_text(text_of(body_segments)).rstrip() + "\n",
        html=html_layout(rendered_subject, _html(body_segments, lines)),
    )
