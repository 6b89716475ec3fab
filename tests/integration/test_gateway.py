"""The gateway: routing like API Gateway, payload-2.0 events, and results written back faithfully."""

from __future__ import annotations

import base64
import json

import httpx

from plutomi.runtime.aws_events import http_event
from plutomi.runtime.gateway import RouteTable, lambda_result_to_http
from plutomi.topology import ROUTES, Route
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
