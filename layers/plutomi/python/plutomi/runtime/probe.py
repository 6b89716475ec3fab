"""A small HTTP endpoint for Kubernetes probes, on asyncio's own server (no web framework in a
bridge, the relay or the SQS poller): each path answers the figures its check returns, as JSON, with
200 while the check passes and 503 while it does not. Anything else is a 404 or 405; every answer
closes the connection.

Two checks, two questions. `GET /healthz` (readiness): is the process connected to what it needs
(NATS; SQS for the poller)? It fails during an outage, and restarting would not end the outage.
`GET /livez` (liveness): has the process's work loop come round within `STALL_AFTER_SECONDS`? A
loop that fails and retries (NATS or AWS down) keeps coming round; one stuck in a call that never
returns (a hung handler, a blocked thread) does not, and only a restart frees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

PROBE_PATH = "/healthz"  # readiness
LIVENESS_PATH = "/livez"
# Longer than any one turn of a work loop may rightly take: a consumer's batch (a consumer function
# may run 120 s on Lambda), an SQS long poll and its handler, a relay publish window.
STALL_AFTER_SECONDS = 300.0
REQUEST_TIMEOUT_SECONDS = 5.0
MAX_HEAD_BYTES = 8192

# (healthy, figures): what a probe answers.
Status = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


class Heartbeat:
    """When a work loop last came round (`beat`); stalled once it has not for `stall_after_seconds`."""

    def __init__(self, stall_after_seconds: float = STALL_AFTER_SECONDS) -> None:
        if not stall_after_seconds > 0:
            raise ValueError(f"stall_after_seconds must be positive, not {stall_after_seconds!r}")
        self.stall_after_seconds = stall_after_seconds
        self._last = time.monotonic()

    def beat(self) -> None:
        self._last = time.monotonic()

    def seconds_since(self) -> float:
        return time.monotonic() - self._last

    @property
    def stalled(self) -> bool:
        return self.seconds_since() > self.stall_after_seconds


def liveness_of(heartbeats: list[Heartbeat], figures: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """A liveness answer: alive while no heartbeat is stalled; `figures` plus the stalest loop's age."""
    stalest = max(heartbeats, key=Heartbeat.seconds_since)
    return not stalest.stalled, {
        **figures,
        "seconds_since_loop": round(stalest.seconds_since(), 1),
        "stall_after_seconds": stalest.stall_after_seconds,
    }


@contextlib.asynccontextmanager
async def probes_served(
    address: tuple[str, int] | None, readiness: Status, liveness: Status
) -> AsyncIterator[None]:
    """`GET /healthz` (readiness) and `GET /livez` (liveness) at `address` while the block runs;
    None: no probe endpoint at all."""
    if address is None:
        yield
        return
    server = await serve_probe(*address, {PROBE_PATH: readiness, LIVENESS_PATH: liveness})
    try:
        yield
    finally:
        server.close()


async def serve_probe(host: str, port: int, checks: Mapping[str, Status]) -> asyncio.Server:
    """Listens on host:port until the returned server is closed; `checks` by path."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            code, body = await _respond(reader, checks)
            writer.write(_response(code, body))
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the prober went away or sent nothing useful: nobody to answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.start_server(answer, host, port, limit=MAX_HEAD_BYTES)


async def _respond(
    reader: asyncio.StreamReader, checks: Mapping[str, Status]
) -> tuple[HTTPStatus, dict[str, Any]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_SECONDS)
    method, _, rest = head.decode("latin-1").partition(" ")
    path = rest.partition(" ")[0].partition("?")[0]
    if path not in checks:
        return HTTPStatus.NOT_FOUND, {"error": f"only {', '.join(checks)} here"}
    if method != "GET":
        return HTTPStatus.METHOD_NOT_ALLOWED, {"error": "GET only"}
    healthy, figures = await checks[path]()
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
