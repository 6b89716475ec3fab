"""A small HTTP endpoint for Kubernetes probes, on asyncio's own server (no web framework in a
bridge): `GET /healthz` answers the figures `status` returns, as JSON, with 200 while the process is
healthy and 503 while it is not. Anything else is a 404 or 405; every answer closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

PROBE_PATH = "/healthz"
REQUEST_TIMEOUT_SECONDS = 5.0
MAX_HEAD_BYTES = 8192

# (healthy, figures): what a probe answers.
Status = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


async def serve_probe(host: str, port: int, status: Status) -> asyncio.Server:
    """Listens on host:port until the returned server is closed."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            code, body = await _respond(reader, status)
            writer.write(_response(code, body))
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the prober went away or sent nothing useful: nobody to answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.start_server(answer, host, port, limit=MAX_HEAD_BYTES)


async def _respond(reader: asyncio.StreamReader, status: Status) -> tuple[HTTPStatus, dict[str, Any]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_SECONDS)
    method, _, rest = head.decode("latin-1").partition(" ")
    path = rest.partition(" ")[0].partition("?")[0]
    if path != PROBE_PATH:
        return HTTPStatus.NOT_FOUND, {"error": f"only {PROBE_PATH} is here"}
    if method != "GET":
        return HTTPStatus.METHOD_NOT_ALLOWED, {"error": "GET only"}
    healthy, figures = await status()
    return (HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE), figures


def _response(code: HTTPStatus, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {code.value} {code.phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + payload
