"""A local HTTP endpoint that speaks Lambda's Invoke API (`POST /2015-03-31/functions/<name>/invocations`),
for pointing boto3 at with `endpoint_url`: each request is recorded, and a test's `reply` decides how
long the "function" takes and what it answers. moto cannot run a slow function without Docker."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
NEVER = float("inf")  # a reply delay: the function never answers (until the endpoint closes)


@dataclass(frozen=True)
class Reply:
    delay_seconds: float = 0.0
    status: int = 200
    body: Any = field(default_factory=lambda: {"batchItemFailures": []})
    headers: tuple[tuple[str, str], ...] = ()


def throttled(retry_after_seconds: int | None = None) -> Reply:
    """What Invoke answers when a function's concurrency is used up (Lambda's TooManyRequestsException)."""
    headers = [("x-amzn-ErrorType", "TooManyRequestsException")]
    if retry_after_seconds is not None:
        headers.append(("Retry-After", str(retry_after_seconds)))
    body = {"Type": "User", "message": "Rate Exceeded.", "Reason": "ConcurrentInvocationLimitExceeded"}
    return Reply(status=429, body=body, headers=tuple(headers))


@dataclass(frozen=True)
class Invocation:
    at: float  # time.monotonic() when the request arrived
    function_name: str
    attempts: tuple[int, ...]  # each record's ApproximateReceiveCount


class LambdaEndpoint:
    def __init__(self, reply: Callable[[int], Reply]) -> None:
        self.reply = reply  # the n-th request's (from 0) answer
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        matched = INVOKE_PATH.match(request.path.split("?", 1)[0])
        event = json.loads(request.rfile.read(int(request.headers.get("Content-Length") or 0)) or b"{}")
        if matched is None:
            request.send_error(404)
            return
        with self._lock:
            index = len(self.invocations)
            self.invocations.append(
                Invocation(
                    arrived,
                    matched["name"],
                    tuple(int(r["attributes"]["ApproximateReceiveCount"]) for r in event.get("Records", [])),
                )
            )
        reply = self.reply(index)
        if self._closing.wait(None if reply.delay_seconds == NEVER else reply.delay_seconds):
            return  # closing: the connection just drops, as a function that never answered
        payload = json.dumps(reply.body).encode()
        request.send_response(reply.status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    @contextmanager
    def running(self) -> Iterator[LambdaEndpoint]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._closing.set()
            self._server.shutdown()
            self._server.server_close()
            thread.join(5)
