"""The gateway: routing like API Gateway, payload-2.0 events, and results written back faithfully."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from plutomi.config import get_settings
from plutomi.entrypoints.headers import HSTS, JSON_POLICY
from plutomi.runtime import gateway as gateway_module
from plutomi.runtime.aws_events import http_event
from plutomi.runtime.embedded import free_port
from plutomi.runtime.gateway import MAX_BODY_BYTES, Gateway, RouteTable, gateway_config, lambda_result_to_http
from plutomi.services import auth
from plutomi.services.ports import Dependencies
from plutomi.topology import ROUTES, Route
from tests.conftest import unique_email
from tests.support.import_watch import first_imports
from tests.support.stack import RunningStack


def test_the_most_specific_route_wins_and_methods_are_checked() -> None:
    table = RouteTable(
        (Route("GET", "/orgs/{org_id}", "a"), Route("GET", "/orgs/mine", "b"), Route("POST", "/orgs", "c"))
    )
    assert table.match("GET", "/orgs/mine") == (Route("GET", "/orgs/mine", "b"), {})
    assert table.match("GET", "/orgs/acme") == (Route("GET", "/orgs/{org_id}", "a"), {"org_id": "acme"})
    assert table.match("DELETE", "/orgs") == ["POST"]
    assert table.match("GET", "/nowhere") == []
    assert table.match("GET", "/orgs/acme/extra") == []


def test_every_route_in_the_table_is_reachable() -> None:
    table = RouteTable()
    for route in ROUTES:
        path = route.path.replace("{", "").replace("}", "")
        matched = table.match(route.method, path)
        assert not isinstance(matched, list), route
        assert matched[0] == route


def test_http_event_has_the_payload_2_shape() -> None:
    event = http_event(
        method="post",
        path="/orgs/acme",
        route_key="POST /orgs/{org_id}",
        path_parameters={"org_id": "acme"},
        query_string="a=1&a=2&b=",
        headers=[("Cookie", "x=1; y=2"), ("X-Multi", "1"), ("x-multi", "2"), ("content-type", "image/png")],
        body=b"\x89PNG\x00",
    )
    assert event["version"] == "2.0" and event["routeKey"] == "POST /orgs/{org_id}"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["cookies"] == ["x=1", "y=2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2"
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x89PNG\x00"


def test_results_are_written_back_with_cookies_and_binary_bodies() -> None:
    status, headers, body = lambda_result_to_http(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "cookies": ["a=1; HttpOnly", "b=2"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert status == 201 and body == b"\x00\x01"
    assert headers.count((b"set-cookie", b"a=1; HttpOnly")) == 1 and (b"set-cookie", b"b=2") in headers
    status, headers, body = lambda_result_to_http({"hello": "world"})
    assert status == 200 and json.loads(body) == {"hello": "world"}


def test_the_served_gateway_answers_concurrently_with_request_ids(stack: RunningStack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=20) as client:
        responses = [client.get("/health") for _ in range(5)]
    assert {r.status_code for r in responses} == {200}
    assert len({r.headers["x-request-id"] for r in responses}) == 5


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_a_body_over_the_limit_is_refused_by_its_declared_length(stack: RunningStack) -> None:
    address = urlsplit(stack.base_url)
    with socket.create_connection((address.hostname or "", address.port or 80), timeout=10) as sock:
        sock.sendall(post_head("/auth/totp", MAX_BODY_BYTES + 1))  # and not one byte of the body
        response = read_until_closed(sock)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b'"code": "body_too_large"' in response


def test_sigterm_lets_the_request_in_flight_finish(services: dict[str, str]) -> None:
    """The gateway as K3S runs it: on SIGTERM it stops accepting connections, answers the request it
    is reading, and exits by itself."""
    port = free_port()
    command = [sys.executable, "-m", "plutomi.runtime.cli", "gateway", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "1"],
        env=dict(os.environ) | {"PLUTOMI_GATEWAY_RELAY": "off"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)
        body = b'{"email": "not-an-email"}'
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(post_head("/auth/totp", len(body)) + body[:5])  # a request half read
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            while True:  # the listener closes: new connections are refused ...
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except ConnectionRefusedError:
                    break
                assert time.monotonic() < deadline, "the gateway still accepts connections after SIGTERM"
                time.sleep(0.05)
            sock.sendall(body[5:])  # ... and the request in flight is still answered, by its handler
            response = read_until_closed(sock)
        assert response.startswith(b"HTTP/1.1 400"), response[:200]
        assert b"invalid_email" in response
        # uvicorn re-raises the SIGTERM once it is done, so "exited by itself" is 0 or -SIGTERM.
        assert process.wait(timeout=45) in (0, -signal.SIGTERM)
        stderr = process.stderr.read() if process.stderr else ""
        assert "Cancel" not in stderr, stderr  # uvicorn's words when it gives up on a request
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_concurrent_requests_each_see_their_own_caller(stack: RunningStack, deps: Dependencies) -> None:
    """Handlers share a process (and Powertools' resolver state) across the gateway's threads: under
    concurrency every request must still be answered for its own caller and its own route."""
    tokens = {}
    for _ in range(4):
        email = unique_email("concurrent")
        tokens[email] = auth.verify_login_code(
            deps, email, auth.issue_login_code(deps, email), "127.0.0.1"
        ).token
    calls = [(email, token) for email, token in tokens.items()] * 40

    def call(client: httpx.Client, email: str, token: str) -> tuple[str, int, str]:
        if len(email) % 2:  # other functions in flight at the same time
            client.get("/health")
        answer = client.get("/users/me", headers={"authorization": f"Bearer {token}"})
        return email, answer.status_code, answer.json().get("email", answer.text)

    clients = [httpx.Client(base_url=stack.base_url, timeout=30) for _ in range(16)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # the gateway runs in this process: switch threads often, as a busy one would
    try:
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            futures = [pool.submit(call, clients[i % len(clients)], *c) for i, c in enumerate(calls)]
            results = [future.result() for future in futures]
    finally:
        sys.setswitchinterval(interval)
        for client in clients:
            client.close()
    wrong = [(email, status, seen) for email, status, seen in results if (status, seen) != (200, email)]
    assert not wrong, f"{len(wrong)} of {len(results)} answers were not the caller's: {wrong[:3]}"


def test_worker_processes_answer_without_nagle_delays() -> None:
    """With --workers N, uvicorn binds the socket the workers share; its accepted connections must
    have TCP_NODELAY, or every keep-alive response waits ~40 ms for the client's delayed ACK."""
    listener = gateway_config("127.0.0.1", free_port(), workers=2).bind_socket()
    assert listener.proto == socket.IPPROTO_TCP

    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.set_result(
                writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            )
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)  # as each worker serves it
        _, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(nodelay_of_an_accepted_connection()) != 0


def test_a_body_that_stops_arriving_gets_a_408(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that sends part of a body and stalls is answered, and its connection closed, instead
    of holding a request slot forever (30 s in production; a tenth of a second here)."""
    monkeypatch.setattr(gateway_module, "BODY_TIMEOUT_SECONDS", 0.1)
    sent: list[MutableMapping[str, Any]] = []

    async def run() -> None:
        chunks = [{"type": "http.request", "body": b'{"email": "som', "more_body": True}]

        async def receive() -> MutableMapping[str, Any]:
            if chunks:
                return chunks.pop()
            await asyncio.Event().wait()  # the rest never comes
            raise AssertionError("unreachable")

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/auth/totp",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"40")],
            "client": ("127.0.0.1", 1),
        }
        await asyncio.wait_for(Gateway(preload=False, relay=False)(scope, receive, send), 10)

    asyncio.run(run())
    start, body = sent
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert json.loads(body["body"])["error"]["code"] == "request_timeout"
    assert missing_security_headers(start["headers"]) == []


def missing_security_headers(headers: list[tuple[bytes, bytes]], *, https: bool = False) -> list[str]:
    """The security headers (entrypoints.headers) an ASGI answer lacks or gets wrong."""
    got = {name.decode(): value.decode() for name, value in headers}
    expected = {
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
        "content-security-policy": JSON_POLICY,
    }
    if https:
        expected["strict-transport-security"] = HSTS
    wrong = [f"{name}: {got.get(name)!r}" for name, value in expected.items() if got.get(name) != value]
    if not https and "strict-transport-security" in got:
        wrong.append("strict-transport-security over plain HTTP")
    return wrong


def gateway_answer(
    gateway: Gateway, path: str, *, scheme: str = "http"
) -> tuple[MutableMapping[str, Any], MutableMapping[str, Any]]:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [],
             "client": ("127.0.0.1", 1), "scheme": scheme}  # fmt: skip
    asyncio.run(gateway(scope, receive, send))
    start, body = sent
    return start, body


def test_the_gateways_502_and_504_carry_the_security_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = (Route("GET", "/broken", "api.no_such_function"), Route("GET", "/slow", "api.health"))
    gateway = Gateway(routes, preload=False, relay=False)
    start, body = gateway_answer(gateway, "/broken")
    assert start["status"] == 502 and json.loads(body["body"])["error"]["code"] == "handler_failed"
    assert missing_security_headers(start["headers"]) == []

    monkeypatch.setattr(gateway_module, "HANDLER_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(Gateway, "_invoke", staticmethod(lambda function, event: time.sleep(0.5)))
    start, body = gateway_answer(gateway, "/slow", scheme="https")
    assert start["status"] == 504 and json.loads(body["body"])["error"]["code"] == "handler_timeout"
    assert missing_security_headers(start["headers"], https=True) == []
    start, _ = gateway_answer(gateway, "/nowhere", scheme="https")
    assert start["status"] == 404 and missing_security_headers(start["headers"], https=True) == []


def test_the_event_says_which_scheme_the_client_used_whatever_it_claims(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 204}

    monkeypatch.setattr(Gateway, "_invoke", staticmethod(invoke))
    gateway = Gateway((Route("GET", "/x", "api.health"),), preload=False, relay=False)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    def answer(scheme: str, forwarded: list[bytes]) -> str:
        scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"", "scheme": scheme,
                 "headers": [(b"x-forwarded-proto", value) for value in forwarded],
                 "client": ("203.0.113.9", 1)}  # fmt: skip
        asyncio.run(gateway(scope, receive, send))
        return str(seen[-1]["headers"]["x-forwarded-proto"])

    # Not behind proxies of ours: a client's claim is nobody's word.
    monkeypatch.delenv("PLUTOMI_CLIENT_IP_HEADER", raising=False)
    get_settings.cache_clear()
    assert [answer("http", [b"https"]), answer("https", [b"http"])] == ["http", "https"]
    # Behind them (trusted as for the client's address): what the outermost one reports.
    monkeypatch.setenv("PLUTOMI_CLIENT_IP_HEADER", "x-forwarded-for")
    get_settings.cache_clear()
    assert [answer("http", [b"https"]), answer("http", [b"http"]), answer("http", [])] == [
        "https",
        "http",
        "http",
    ]
    get_settings.cache_clear()


def test_the_access_log_names_the_route_never_the_secret_in_the_path(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import io
    import logging

    from plutomi.observability import runtime_logger
    from plutomi.runtime.gateway import Gateway

    captured = io.StringIO()
    handler = runtime_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", captured)
    secret = "s3cr3t-portal-token-value"
    scope = {
        "type": "http",
        "method": "GET",
        "path": f"/public/applicants/apl_01JEXAMPLE.{secret}",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 5000),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(Gateway(preload=False, relay=False)(scope, receive, send))
    assert sent[0]["status"] == 404
    line = json.loads(captured.getvalue().strip().splitlines()[-1])
    assert line["route"] == "/public/applicants/{token}" and line["status"] == 404
    assert secret not in captured.getvalue()


def test_a_fresh_gateway_imports_every_handler_before_its_first_request(
    services: dict[str, str], tmp_path: Path
) -> None:
    """Many first requests to many routes at once, the moment a fresh gateway accepts connections:
    each is answered by its handler (threads importing handlers at once fail or deadlock inside
    Powertools: a 502), because every handler was imported in the main thread before it listened."""
    report, port = tmp_path / "imports.jsonl", free_port()
    watched = [sys.executable, "-m", "tests.support.import_watch", str(report)]
    process = subprocess.Popen(
        [*watched, "gateway", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=dict(os.environ) | {"PLUTOMI_GATEWAY_RELAY": "off"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # uvicorn listens once its startup (the preload) is done
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.05)

        def first_request(route: Route) -> tuple[str, int]:
            path = route.path.replace("{", "x").replace("}", "")
            body = None if route.method in ("GET", "DELETE") else b"{}"
            answer = httpx.request(route.method, f"http://127.0.0.1:{port}{path}", content=body, timeout=30)
            return f"{route.method} {route.path}", answer.status_code

        with ThreadPoolExecutor(max_workers=len(ROUTES)) as pool:
            statuses = dict(pool.map(first_request, ROUTES))
        assert {route: status for route, status in statuses.items() if status >= 500} == {}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=45)
    imported = first_imports(report)
    assert {route.function for route in ROUTES} <= {name.removeprefix("functions.") for name in imported}
    assert {name for name, in_main in imported.items() if not in_main} == set()
