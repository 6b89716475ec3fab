"""A resolver serves requests from many threads at once (the gateway's pool, `plutomi dev`): a route's
first calls arriving together must not corrupt it. Powertools builds a route's middleware stack on its
first call, frame by frame into the route; two builds at once nested one stack in the other, and the
route answered 500 from then on."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Route

from plutomi.entrypoints.api import Router, create_resolver, json_response
from plutomi.entrypoints.schemas import Accepted
from plutomi.runtime.aws_events import http_event
from plutomi.runtime.functions import LocalContext

CALLERS = 8


def test_first_calls_of_a_route_from_many_threads_at_once_all_succeed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = Router()

    @router.get("/first-calls")
    def first_calls() -> Response[Accepted]:
        return json_response(200, Accepted(message="ok"))

    resolver = create_resolver(router)
    build = Route._build_middleware_stack

    def slow_build(route: Route, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)  # widens the window every first call would race through
        build(route, *args, **kwargs)

    monkeypatch.setattr(Route, "_build_middleware_stack", slow_build)
    together = threading.Barrier(CALLERS)

    def call(_: int) -> int:
        event = http_event(method="GET", path="/first-calls", route_key="GET /first-calls")
        context: Any = LocalContext("api.first_calls")
        together.wait()
        status: int = resolver.resolve(event, context)["statusCode"]
        return status

    with ThreadPoolExecutor(CALLERS) as pool:
        first = list(pool.map(call, range(CALLERS)))
        then = list(pool.map(call, range(CALLERS)))
    assert first == [200] * CALLERS
    assert then == [200] * CALLERS
