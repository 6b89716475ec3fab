"""The local mailbox `plutomi dev` serves beside the app (http://localhost:8025): every email the local
SES (moto) accepted, newest first, with its links clickable, so a person can sign in and follow an
applicant's portal link in the browser. Development only: it reads moto's in-memory store through
`local_mail`, and is never part of the route table, the image's gateway or a deploy."""

from __future__ import annotations

import re
from html import escape
from typing import Any
from urllib.parse import parse_qs

from plutomi.entrypoints.headers import html_policy, raw_security_headers
from plutomi.runtime.local_mail import LocalMailUnavailable, SentEmail, list_sent_emails

Scope = dict[str, Any]
URL = re.compile(r"https?://[^\s<>\"']+")
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1b1f24}"
    "header{background:#1b1f24;color:#fff;padding:.6rem 1.25rem}"
    "main{max-width:60rem;margin:auto;padding:1rem}"
    "article{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin-bottom:1rem}"
    "pre{white-space:pre-wrap;word-break:break-word;font:inherit}h2{font-size:1.05rem;margin:0}"
    ".meta{color:#57606a;font-size:.9rem}form{margin-bottom:1rem}"
)


def _linked(text: str) -> str:
    """The text escaped, with every URL a link."""
    parts, last = [], 0
    for found in URL.finditer(text):
        parts.append(escape(text[last : found.start()]))
        url = escape(found.group(0), quote=True)
        parts.append(f'<a href="{url}">{url}</a>')
        last = found.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


def render(emails: list[SentEmail], to: str = "") -> str:
    shown = [mail for mail in emails if not to or to.lower() in (a.lower() for a in mail.to)]
    articles = "".join(
        f"<article><h2>{escape(mail.subject)}</h2>"
        f'<p class="meta">To {escape(", ".join(mail.to))} · from {escape(mail.source)}</p>'
        f"<pre>{_linked(mail.text)}</pre></article>"
        for mail in shown
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Local mailbox · Plutomi</title><style>{STYLE}</style></head><body>"
        "<header><strong>Plutomi</strong> · local mailbox (what the local SES accepted)</header><main>"
        '<form method="get"><label for="to">Only mail to</label> '
        f'<input id="to" name="to" type="email" value="{escape(to, quote=True)}"> '
        "<button>Show</button></form>"
        f"{articles or '<p>No email yet. Ask for a sign-in code at the app and reload.</p>'}"
        "</main></body></html>"
    )


def mailbox_app(aws_endpoint_url: str) -> Any:
    """An ASGI app answering every GET with the mailbox page."""
    policy = html_policy(inline_styles=[STYLE])

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        try:
            body = render(list_sent_emails(aws_endpoint_url), (query.get("to") or [""])[0]).encode()
            status = 200
        except LocalMailUnavailable as error:
            body, status = escape(str(error)).encode(), 503
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            *[
                (name, policy.encode() if name == b"content-security-policy" else value)
                for name, value in raw_security_headers("text/html", https=False)
            ],
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
