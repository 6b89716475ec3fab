"""The security headers on every HTTP response: one policy, used by every handler's `lambda_handler`
(on AWS as behind the gateway) and by the gateway's own answers (404, 405, 408, 413, 502, 504).

- `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` on everything.
- `Cache-Control: no-store` unless the route says otherwise: answers carry tokens and personal data,
  and only a route that is public and cacheable (Swagger UI's versioned files) sets its own.
- `Content-Security-Policy`: JSON and everything else that is not HTML gets `JSON_POLICY`, which
  allows nothing; HTML gets `html_policy()`: scripts, styles, images, fonts and requests from this
  origin only, no inline script or style unless its hash is in the policy, no framing, no `<base>`,
  forms post to this origin. A page with an inline `<style>` passes its text to `html_policy`.
- `Strict-Transport-Security` when the request came over HTTPS (`x-forwarded-proto: https`, which
  API Gateway sets and the gateway sets from its own scheme).

A header the handler set itself wins, so a page can send a policy with the hashes it needs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

NOSNIFF = "nosniff"
REFERRER_POLICY = "no-referrer"
NO_STORE = "no-store"
# Files whose URL changes with their content (Swagger UI's, the pages' static files).
CACHE_FOREVER = "public, max-age=31536000, immutable"
HSTS = "max-age=31536000; includeSubDomains"
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"


def cached_forever(content_type: str, body: str | bytes) -> Response[Any]:
    """A 200 with a file whose URL carries a hash of its content, so caches may keep it for good."""
    from aws_lambda_powertools.event_handler import Response

    return Response(
        status_code=200, content_type=content_type, body=body, headers={"Cache-Control": CACHE_FOREVER}
    )


def inline_source(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def html_policy(
    *,
    inline_scripts: Iterable[str] = (),
    inline_styles: Iterable[str] = (),
    connect_sources: Iterable[str] = (),
    frame_sources: Iterable[str] = (),
    image_sources: Iterable[str] = (),
) -> str:
    """The policy for HTML pages: this origin only, plus exactly the inline scripts and styles named,
    the origins scripts may send requests to (the documents bucket, for uploads straight to it) and
    the origins the page may frame or show images from (a document's preview)."""
    scripts = " ".join(["'self'", *(inline_source(text) for text in inline_scripts)])
    styles = " ".join(["'self'", *(inline_source(text) for text in inline_styles)])
    connect = " ".join(["'self'", *connect_sources])
    frames = " ".join(["'self'", *frame_sources])
    images = " ".join(["'self'", "data:", *image_sources])
    return (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; img-src {images}; "
        f"font-src 'self'; connect-src {connect}; frame-src {frames}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


HTML_POLICY = html_policy()


def security_headers(content_type: str | None, *, https: bool) -> dict[str, str]:
    """The headers for a response of `content_type` (None: no body)."""
    is_html = (content_type or "").split(";")[0].strip().lower() == "text/html"
    headers = {
        "X-Content-Type-Options": NOSNIFF,
        "Referrer-Policy": REFERRER_POLICY,
        "Cache-Control": NO_STORE,
        "Content-Security-Policy": HTML_POLICY if is_html else JSON_POLICY,
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def with_security_headers(result: dict[str, Any], *, https: bool) -> dict[str, Any]:
    """A Lambda proxy result (payload 2.0) with every security header it does not set itself."""
    headers: dict[str, Any] = dict(result.get("headers") or {})
    present = {name.lower(): name for name in headers}
    content_type = headers.get(present["content-type"]) if "content-type" in present else None
    for name, value in security_headers(content_type, https=https).items():
        if name.lower() not in present:
            headers[name] = value
    result["headers"] = headers
    return result


def raw_security_headers(content_type: str | None, *, https: bool) -> list[tuple[bytes, bytes]]:
    """`security_headers` as ASGI header pairs, for the gateway's own answers."""
    return [
        (name.lower().encode(), value.encode())
        for name, value in security_headers(content_type, https=https).items()
    ]


def request_is_https(event: Mapping[str, Any]) -> bool:
    """Whether an API Gateway (payload 2.0) event came over HTTPS."""
    headers = event.get("headers") or {}
    proto = next((str(v) for k, v in headers.items() if k.lower() == "x-forwarded-proto"), "")
    return proto.split(",")[0].strip().lower() == "https"
