"""The route is matched once: API Gateway (and our gateway) name it in the event's `routeKey` with its
`pathParameters`, and the resolver calls that route without matching the path against every route's
regex again. An event that names no route of the resolver's is matched by Powertools as before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from plutomi.entrypoints.api import Router, create_resolver, json_response
from plutomi.entrypoints.schemas import Accepted
from plutomi.runtime.aws_events import http_event
from plutomi.runtime.functions import LocalContext


@pytest.fixture
def resolver() -> APIGatewayHttpResolver:
    router = Router()

    @router.get("/items/<item_id>")
    def one_item(item_id: str) -> Response[Accepted]:
        return json_response(200, Accepted(message=f"item {item_id}"))

    @router.get("/items/mine")
    def my_items() -> Response[Accepted]:
        return json_response(200, Accepted(message="mine"))

    return create_resolver(router)


@pytest.fixture
def regex_matches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths Powertools matched against its routes' regexes."""
    matched: list[str] = []
    match = APIGatewayHttpResolver._resolve

    def counted(self: APIGatewayHttpResolver) -> Any:
        matched.append(self.current_event.path)
        return match(self)

    monkeypatch.setattr(APIGatewayHttpResolver, "_resolve", counted)
    return matched


def answer(resolver: APIGatewayHttpResolver, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = resolver.resolve(event, LocalContext("api.items"))  # type: ignore[arg-type]
    return result["statusCode"], json.loads(result["body"])


def test_the_route_the_event_names_is_called_with_its_path_parameters(
    resolver: APIGatewayHttpResolver, regex_matches: list[str]
) -> None:
    event = http_event(
        method="GET",
        path="/items/i-1",
        route_key="GET /items/{item_id}",
        path_parameters={"item_id": "i-1"},
    )
    assert answer(resolver, event) == (200, {"message": "item i-1"})
    mine = http_event(method="GET", path="/items/mine", route_key="GET /items/mine")
    assert answer(resolver, mine) == (200, {"message": "mine"})
    assert regex_matches == []


def test_an_event_naming_no_route_of_ours_is_matched_by_its_path(
    resolver: APIGatewayHttpResolver, regex_matches: list[str]
) -> None:
    event = http_event(method="GET", path="/items/i-2", route_key="$default")
    assert answer(resolver, event) == (200, {"message": "item i-2"})
    wrong_method = http_event(
        method="POST", path="/items/i-2", route_key="GET /items/{item_id}", path_parameters={"item_id": "i-2"}
    )
    assert answer(resolver, wrong_method)[0] == 404
    assert regex_matches == ["/items/i-2", "/items/i-2"]


def test_a_parameter_powertools_would_not_match_is_still_a_404(resolver: APIGatewayHttpResolver) -> None:
    event = http_event(
        method="GET",
        path='/items/a"b',
        route_key="GET /items/{item_id}",
        path_parameters={"item_id": 'a"b'},
    )
    assert answer(resolver, event) == (
        404,
        {"error": {"code": "route_not_found", "message": "No such route; see /docs for the API"}},
    )
    missing = http_event(method="GET", path="/items/i-3", route_key="GET /items/{item_id}")
    assert answer(resolver, missing) == (200, {"message": "item i-3"})
