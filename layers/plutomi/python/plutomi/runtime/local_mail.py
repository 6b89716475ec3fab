"""Read the emails a local moto SES server accepted (for a developer's login code, and for tests).

moto's server lists every tracked model instance at ``GET <endpoint>/moto-api/data.json``. Under
``["ses"]`` it has:

* ``"RawMessage"``: one entry per ``sesv2.send_email(Content={"Raw": ...})`` (and SES v1
  ``send_raw_email``), with ``id``, ``source``, ``destinations`` (a list of recipients: the
  ``Destination`` addresses followed by every To/Cc/Bcc header address, formatted like
  ``"Name <addr>"``, so duplicates are possible) and ``raw_data`` (the MIME message as ``str``).
* ``"Message"``: one entry per simple email, with ``id``, ``source``, ``subject``, ``body`` (the
  HTML body if there was one, else the text body: moto drops the other) and ``destinations``
  (a dict ``{"ToAddresses": [...], "CcAddresses": [...], "BccAddresses": [...]}``).

Each list is in send order, across all accounts and regions, with no timestamp; the ``"ses"`` key
is missing until the server has handled its first SES request. moto keeps all of it in memory only.

Only the standard library is used here.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
_HTML_TAG_RE = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


@dataclass(frozen=True)
class SentEmail:
    """One email accepted by moto SES."""

    message_id: str
    source: str
    to: tuple[str, ...]  # every recipient (To, Cc and Bcc), bare addresses, de-duplicated
    subject: str
    text: str  # the text/plain part (or the body with HTML tags stripped if there is no text part)
    html: str | None
    headers: dict[str, str]


class LocalMailUnavailable(RuntimeError):
    """The endpoint does not answer as a moto server does (nothing listens there, or something else)."""


def list_sent_emails(aws_endpoint_url: str, *, to: str | None = None) -> list[SentEmail]:
    """Emails accepted by the moto server at ``aws_endpoint_url``, newest first.

    ``to`` keeps only the emails with that recipient (compared case-insensitively; a
    ``"Name <addr>"`` form is accepted). Raw MIME emails (what Plutomi's mailer sends) come
    first, newest first, followed by simple emails, newest first: moto records the two kinds in
    separate lists without timestamps, so their relative order is unknown.
    """
    ses = _fetch_model_data(aws_endpoint_url).get("ses") or {}
    raw_entries = list(reversed(_entries(ses, "RawMessage")))
    if to is None:
        emails = [_from_raw(entry) for entry in raw_entries]
        return emails + [_from_simple(entry) for entry in reversed(_entries(ses, "Message"))]
    wanted_lower = {address.lower() for address in _bare_addresses([to])} or {to.strip().lower()}
    # Only the messages moto lists for the address are parsed: the local SES keeps every email of
    # the process's life, so parsing them all made each look-up grow with the number ever sent.
    emails = [_from_raw(entry) for entry in raw_entries if _may_be_for(entry, wanted_lower)]
    emails += [_from_simple(entry) for entry in reversed(_entries(ses, "Message"))]
    return [mail for mail in emails if any(rcpt.lower() in wanted_lower for rcpt in mail.to)]


def sent_recipients(aws_endpoint_url: str) -> list[tuple[str, ...]]:
    """The recipients of every email the moto server at ``aws_endpoint_url`` accepted, newest raw
    email first (as `list_sent_emails`), parsing a message only when moto does not list them."""
    ses = _fetch_model_data(aws_endpoint_url).get("ses") or {}
    recipients = []
    for entry in reversed(_entries(ses, "RawMessage")):
        destinations = entry.get("destinations")
        if isinstance(destinations, list) and destinations:
            recipients.append(_bare_addresses(map(str, destinations)))
        else:
            recipients.append(_from_raw(entry).to)
    return recipients + [_from_simple(entry).to for entry in reversed(_entries(ses, "Message"))]


def _may_be_for(entry: Mapping[str, Any], wanted_lower: set[str]) -> bool:
    """False only when moto lists the raw message's recipients and none is wanted (without a list,
    the headers name them, which takes parsing)."""
    destinations = entry.get("destinations")
    if not isinstance(destinations, list) or not destinations:
        return True
    return any(address.lower() in wanted_lower for address in _bare_addresses(map(str, destinations)))


# ---------------------------------------------------------------------- fetching


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fetch_model_data(aws_endpoint_url: str) -> dict[str, Any]:
    url = aws_endpoint_url.rstrip("/") + "/moto-api/data.json"
    # A local moto server must not be reached through an HTTP(S)_PROXY from the environment.
    handlers = [urllib.request.ProxyHandler({})] if _is_loopback(urllib.parse.urlsplit(url).hostname) else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=10) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise LocalMailUnavailable(f"cannot read the emails of the moto server at {url}: {exc}") from exc
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise LocalMailUnavailable(f"unexpected answer from {url}: not JSON") from exc
    if not isinstance(data, dict):
        raise LocalMailUnavailable(f"unexpected answer from {url}: not a JSON object")
    return data


def _entries(ses: Mapping[str, Any], model: str) -> list[dict[str, Any]]:
    entries = ses.get(model) or []
    return [entry for entry in entries if isinstance(entry, dict)]


# ---------------------------------------------------------------------- parsing


def _bare_addresses(values: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    result: list[str] = []
    for _name, address in getaddresses([value for value in values if value]):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return tuple(result)


def _from_raw(entry: Mapping[str, Any]) -> SentEmail:
    # moto decoded the sent bytes as UTF-8; parsing that str would mangle 8bit parts (the email
    # package re-encodes non-ASCII str payloads as latin-1), so parse the original bytes instead.
    raw = str(entry.get("raw_data") or "").encode("utf-8", errors="surrogateescape")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    headers: dict[str, str] = {}
    for key, value in message.items():
        headers.setdefault(key, str(value))
    destinations = entry.get("destinations") or []
    recipients = [str(d) for d in destinations] if isinstance(destinations, list) else []
    if not recipients:
        recipients = [headers[h] for h in ("To", "Cc", "Bcc") if h in headers]
    text, html = _bodies(message)
    return SentEmail(
        message_id=str(entry.get("id") or ""),
        source=str(entry.get("source") or headers.get("From", "")),
        to=_bare_addresses(recipients),
        subject=headers.get("Subject", ""),
        text=text,
        html=html,
        headers=headers,
    )


def _from_simple(entry: Mapping[str, Any]) -> SentEmail:
    body = str(entry.get("body") or "")
    destinations = entry.get("destinations") or {}
    recipients: list[str] = []
    if isinstance(destinations, dict):
        for key in ("ToAddresses", "CcAddresses", "BccAddresses"):
            recipients += [str(address) for address in destinations.get(key) or []]
    elif isinstance(destinations, list):
        recipients = [str(address) for address in destinations]
    to = _bare_addresses(recipients)
    subject = str(entry.get("subject") or "")
    source = str(entry.get("source") or "")
    is_html = _HTML_TAG_RE.search(body) is not None
    headers = {"Subject": subject, "From": source, "To": ", ".join(to)}
    return SentEmail(
        message_id=str(entry.get("id") or ""),
        source=source,
        to=to,
        subject=subject,
        text=html_to_text(body) if is_html else body,
        html=body if is_html else None,
        headers=headers,
    )


def _part_content(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
        except (LookupError, KeyError, ValueError):
            content = None
        if isinstance(content, str):
            return content
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return str(part.get_payload())


def _bodies(message: EmailMessage) -> tuple[str, str | None]:
    plain = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = _part_content(html_part) if html_part is not None else None
    if plain is not None:
        return _part_content(plain), html
    if html is not None:
        return html_to_text(html), html
    if message.is_multipart():
        return "", None
    return _part_content(message), None


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Crude HTML to text: drop tags, scripts and styles; keep line breaks at block elements."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.chunks).split("\n"))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
