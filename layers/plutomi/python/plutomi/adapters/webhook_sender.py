"""Sends a webhook delivery: one HTTPS POST with the standard library, redirects refused.

A redirect is answered, never followed: the signed body goes only to the URL the org registered, and
a receiver cannot bounce it to an address of its choosing. The sender never raises for what the
network or the receiver does; it reports the status (None when no response came), the time taken
and what went wrong.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Mapping
from typing import IO, Any
from urllib.error import HTTPError

from plutomi.domain.webhooks import SendResult

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Plutomi-Webhooks/1"
ERROR_SNIPPET_BYTES = 300


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None  # urllib then raises HTTPError with the 3xx status, which we report


class WebhookSender:
    def __init__(self, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds
        self._opener = urllib.request.build_opener(_RefuseRedirects())

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        started = time.perf_counter()
        try:
            # The URL was checked when the webhook was saved: https, or http to localhost in development.
            request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
            for name, value in headers.items():
                request.add_header(name, value)
            request.add_header("Content-Type", "application/json")
            request.add_header("User-Agent", USER_AGENT)
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                response.read(ERROR_SNIPPET_BYTES)
                return SendResult(response.status, _elapsed_ms(started), None)
        except HTTPError as error:
            try:
                snippet = error.read(ERROR_SNIPPET_BYTES).decode(errors="replace").strip()
            except Exception:  # the body could not be read; the status says enough
                snippet = ""
            finally:
                error.close()
            message = f"HTTP {error.code}" + (f": {snippet}" if snippet else "")
            if 300 <= error.code < 400:
                message = (
                    f"HTTP {error.code}: redirects are not followed (to {error.headers.get('Location')})"
                )
            return SendResult(error.code, _elapsed_ms(started), message[:ERROR_SNIPPET_BYTES])
        except Exception as error:  # no response: refused, unreachable, TLS, timeout, a broken reply
            reason = getattr(error, "reason", None) or error
            message = f"{type(error).__name__}: {reason}"
            return SendResult(None, _elapsed_ms(started), message[:ERROR_SNIPPET_BYTES])


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
