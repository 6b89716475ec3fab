"""The HTTP gateway: an ASGI app that serves the API by calling the handler functions exactly as
API Gateway would (HTTP API, payload 2.0). It is the production server on K3S and `plutomi dev`'s.

Handlers are synchronous, so each request runs in a bounded thread pool; the store and NATS clients
are built once per process and shared by every request. Every handler is imported in the main thread
at startup, before the first request is accepted (`functions.preload`). Access logs are structured JSON.

Under load (`plutomi gateway --workers N` runs N processes, each with its own pool and clients): a
body over 1 MiB is refused (413, by its Content-Length before it is read), a body must arrive within
30 s (408), a handler must answer within 29 s (504), and SIGTERM stops accepting connections, lets
the requests in flight finish (up to 30 s), then stops the relay.

Its own answers (404, 405, 408, 413, 502, 504) carry the same security headers as every handler's
(`plutomi.entrypoints.headers`); the event it builds says in `x-forwarded-proto` which scheme the
client used, as API Gateway's does, so handlers add HSTS over HTTPS.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import uvicorn

from plutomi.entrypoints.headers import raw_security_headers
from plutomi.observability import runtime_logger as logger
from plutomi.runtime.aws_events import http_event
from plutomi.runtime.functions import LocalContext, load_handler, preload
from plutomi.runtime.relay import OutboxRelay
from plutomi.topology import ROUTES, Route

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
HANDLER_TIMEOUT_SECONDS = 29.0  # API Gateway's own integration limit
BODY_TIMEOUT_SECONDS = 30.0  # a client that stops sending its body mid-way gets a 408, not a held slot
# uvicorn waits this long for in-flight requests on SIGTERM: longer than a handler may run.
GRACEFUL_SHUTDOWN_SECONDS = int(HANDLER_TIMEOUT_SECONDS) + 1
# Idle keep-alive connections stay open longer than a proxy in front keeps its own idle connections to
# us (Traefik, K3S's ingress: 90 s), so the proxy never reuses one we are closing (a 502 for a POST).
KEEP_ALIVE_SECONDS = 95


@dataclass(frozen=True)
class CompiledPath:
    """One path template and the routes it has, by method."""

    template: str
    pattern: re.Pattern[str] | None  # None: the template has no parameters, the path must equal it
    literal_segments: int
    routes: dict[str, Route]


def compile_paths(routes: tuple[Route, ...] = ROUTES) -> dict[int, list[CompiledPath]]:
    """The path templates, grouped by their number of segments (a parameter never spans a `/`, so only
    templates with as many segments as the path can match it), the most specific first in each."""
    by_template: dict[str, dict[str, Route]] = {}
    for route in routes:
        by_template.setdefault(route.path, {})[route.method] = route
    compiled: dict[int, list[CompiledPath]] = {}
    for template, methods in by_template.items():
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
        pattern = re.compile(f"^{regex}$") if "{" in template else None
        compiled.setdefault(template.count("/"), []).append(CompiledPath(template, pattern, literal, methods))
    for candidates in compiled.values():
        # Like API Gateway, the most specific route wins: more literal segments first.
        candidates.sort(key=lambda c: -c.literal_segments)
    return compiled


class RouteTable:
    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self._by_segments = compile_paths(routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | list[str]:
        """The route and its path parameters, or the methods the path allows (empty: no such path)."""
        allowed: list[str] = []
        for candidate in self._by_segments.get(path.count("/"), ()):
            if candidate.pattern is None:
                if path != candidate.template:
                    continue
                parameters: dict[str, str] = {}
            else:
                found = candidate.pattern.match(path)
                if found is None:
                    continue
                parameters = found.groupdict()
            route = candidate.routes.get(method)
            if route is not None:
                return route, parameters
            allowed.extend(candidate.routes)
        return allowed


def _declared_length(scope: Scope) -> int:
    """The request's Content-Length (0 when absent or unreadable: the body is then counted as read)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _json_error(
    status: int, code: str, message: str, *, https: bool
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The gateway's own answer, with the same security headers as every handler's."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), *raw_security_headers("application/json", https=https)]
    return status, headers, body


def lambda_result_to_http(result: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Translates a handler's result as API Gateway does for payload 2.0."""
    if not isinstance(result, dict) or "statusCode" not in result:
        body = json.dumps(result).encode()
        return 200, [(b"content-type", b"application/json")], body
    headers: list[tuple[bytes, bytes]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((name.lower().encode(), str(value).encode()))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name.lower().encode(), str(value).encode()) for value in values)
    headers.extend((b"set-cookie", cookie.encode()) for cookie in result.get("cookies") or [])
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else str(raw_body).encode()
    return int(result["statusCode"]), headers, body


class Gateway:
    def __init__(
        self,
        routes: tuple[Route, ...] = ROUTES,
        max_workers: int = 32,
        preload: bool = True,
        relay: bool = True,
    ) -> None:
        self._table = RouteTable(routes)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="plutomi-handler")
        self._functions = sorted({route.function for route in routes})
        self._preload = preload
        self._run_relay = relay
        self._relay: OutboxRelay | None = None
        self._relay_task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        # Matched once: the result names the route in the access log, and the event's `routeKey` and
        # `pathParameters` carry it to the handler, whose resolver does not match again (as on AWS).
        matched = self._table.match(scope["method"].upper(), scope["path"])
        status, headers, body, function = await self._respond(scope, receive, request_id, matched)
        headers.append((b"x-request-id", request_id.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        route = matched[0] if isinstance(matched, tuple) else None
        logger.info(
            "request",
            extra={
                "http_method": scope["method"],
                # The route template, never the raw path: paths carry portal and unsubscribe secrets.
                "route": route.path if route else None,
                "status": status,
                "function": function,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": request_id,
                "client": (scope.get("client") or ("", 0))[0],
            },
        )

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        request_id: str,
        matched: tuple[Route, dict[str, str]] | list[str],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, str | None]:
        """The answer, and the function that gave it (None when the gateway answered itself)."""
        method, path = scope["method"].upper(), scope["path"]
        https = self._came_over_https(scope)
        try:
            body = None if _declared_length(scope) > MAX_BODY_BYTES else await self._read_body(receive)
        except TimeoutError:
            status, headers, payload = _json_error(
                408,
                "request_timeout",
                f"The request body did not arrive within {BODY_TIMEOUT_SECONDS:g} s",
                https=https,
            )
            return status, [*headers, (b"connection", b"close")], payload, None
        if body is None:  # refused before reading the rest: the connection closes after the answer
            status, headers, payload = _json_error(
                413, "body_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes", https=https
            )
            return status, [*headers, (b"connection", b"close")], payload, None
        if isinstance(matched, list):
            if not matched:
                not_found = _json_error(
                    404, "route_not_found", "No such route; see /docs for the API", https=https
                )
                return (*not_found, None)
            status, headers, payload = _json_error(
                405, "method_not_allowed", f"Use one of {', '.join(matched)}", https=https
            )
            headers.append((b"allow", ", ".join(matched).encode()))
            return status, headers, payload, None
        route, path_parameters = matched
        event = http_event(
            method=method,
            path=path,
            route_key=route.route_key,
            path_parameters=path_parameters,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=[
                *(
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in scope["headers"]
                    if name != b"x-forwarded-proto"
                ),
                # As API Gateway does: the scheme the client used, whatever the client claims.
                ("x-forwarded-proto", "https" if https else "http"),
            ],
            body=body,
            source_ip=(scope.get("client") or ("127.0.0.1", 0))[0],
            request_id=request_id,
        )
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._executor, self._invoke, route.function, event)
        try:
            result = await asyncio.wait_for(call, HANDLER_TIMEOUT_SECONDS)
        except TimeoutError:
            return (
                *_json_error(504, "handler_timeout", "The request took too long; please retry", https=https),
                route.function,
            )
        except Exception:
            logger.exception("handler crashed", extra={"function": route.function, "request_id": request_id})
            return (
                *_json_error(
                    502, "handler_failed", "The handler failed; the error is in the logs", https=https
                ),
                route.function,
            )
        return (*lambda_result_to_http(result), route.function)

    @staticmethod
    def _came_over_https(scope: Scope) -> bool:
        """Whether the client used HTTPS: our own TLS, or behind our own proxies (the ones trusted for
        the client's address, `PLUTOMI_CLIENT_IP_HEADER`) the scheme the outermost one reports."""
        if scope.get("scheme") == "https":
            return True
        from plutomi.config import get_settings

        if not get_settings().client_ip_header:
            return False
        reported = [value for name, value in scope["headers"] if name == b"x-forwarded-proto"]
        return bool(reported) and reported[-1].split(b",")[-1].strip().lower() == b"https"

    @staticmethod
    def _invoke(function: str, event: dict[str, Any]) -> Any:
        return load_handler(function)(event, LocalContext(function, HANDLER_TIMEOUT_SECONDS))

    @staticmethod
    async def _read_body(receive: Receive) -> bytes | None:
        """The body, or None when it exceeds MAX_BODY_BYTES; TimeoutError after BODY_TIMEOUT_SECONDS."""
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            return await Gateway._read_chunks(receive)

    @staticmethod
    async def _read_chunks(receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._preload:
                    # Every function, in this (the main) thread, before the first request: the pool's
                    # threads importing handlers at once can deadlock (`functions.preload`).
                    preload(self._functions)
                if self._run_relay:
                    self._start_relay()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # uvicorn sends this once in-flight requests finished (or its graceful timeout ran out
                # and it cancelled them: their queued calls are dropped). Waiting for the threads off
                # the event loop keeps the relay flushing meanwhile.
                await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
                if self._relay is not None and self._relay_task is not None:
                    self._relay.stop()
                    await self._relay_task
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _start_relay(self) -> None:
        """The outbox relay rides along in every gateway process: events written by requests are
        published within milliseconds, with no extra moving part in small deployments."""
        from plutomi.bootstrap import dependencies
        from plutomi.config import get_settings

        self._relay = OutboxRelay(dependencies().store, get_settings().nats_url)
        self._relay_task = asyncio.create_task(self._relay.run(), name="outbox-relay")


def create_app() -> Gateway:
    """Factory for `uvicorn --factory plutomi.runtime.gateway:create_app` (one per worker process).
    `PLUTOMI_GATEWAY_RELAY=off` leaves publishing to a separate `plutomi relay`."""
    import os

    return Gateway(relay=os.environ.get("PLUTOMI_GATEWAY_RELAY", "on").lower() not in {"off", "false", "0"})


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration, binding the socket its worker processes share as a TCP socket."""

    def bind_socket(self) -> socket.socket:
        """uvicorn binds the socket it hands its worker processes with proto 0, and asyncio turns
        Nagle's algorithm off only on sockets that say TCP (uvicorn issue 3149): each keep-alive
        response would then wait ~40 ms for the client's delayed ACK. Say TCP."""
        bound = super().bind_socket()
        if bound.family not in (socket.AF_INET, socket.AF_INET6):
            return bound
        tcp = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
        tcp.set_inheritable(True)
        return tcp


def gateway_config(
    host: str, port: int, workers: int = 1, log_level: str = "warning", app: Gateway | None = None
) -> TcpConfig:
    """uvicorn's configuration for `plutomi gateway` (worker processes build their app with
    `create_app`) or, given `app`, for serving that one in this process (`plutomi dev`, tests)."""
    return TcpConfig(
        app or "plutomi.runtime.gateway:create_app",
        factory=app is None,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the gateway writes its own structured access log
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        limit_concurrency=1000,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # The client's address is the connection's; behind our own proxies the handlers read the
        # header named by PLUTOMI_CLIENT_IP_HEADER (plutomi.entrypoints.api.client_address). uvicorn's
        # proxy headers would trust X-Forwarded-For from any local process.
        proxy_headers=False,
    )


def serve(host: str, port: int, workers: int = 1, log_level: str = "warning") -> None:
    """What `uvicorn.run` does, with `gateway_config`: N worker processes behind one socket, or one."""
    from uvicorn.supervisors import Multiprocess

    config = gateway_config(host, port, workers, log_level)
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's own exit status when the app cannot start
