"""The API describes itself: the OpenAPI document lists every route, /docs serves Swagger UI from
the API itself, and /health reports its dependencies."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
import pytest

from plutomi.topology import ROUTES
from tests.e2e.test_tenant_isolation import PATH_PARAM, VALID_BODIES
from tests.support.stack import RunningStack

SELF_DESCRIBING = {"/openapi.json", "/docs"}
DOCUMENTED = [route for route in ROUTES if route.path not in SELF_DESCRIBING]


@pytest.fixture(scope="module")
def document(stack: RunningStack) -> dict[str, Any]:
    response = httpx.get(f"{stack.base_url}/openapi.json", timeout=20)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    parsed: dict[str, Any] = json.loads(response.content)
    return parsed


def resolve(document: dict[str, Any], reference: str) -> dict[str, Any]:
    assert reference.startswith("#/"), reference
    node: Any = document
    for part in reference[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{reference} does not resolve"
        node = node[part]
    assert isinstance(node, dict)
    return node


def test_the_document_is_openapi_3(document: dict[str, Any]) -> None:
    assert str(document["openapi"]).startswith("3.")
    assert document["info"]["title"] == "Plutomi API"
    assert document["info"]["version"]


def test_every_route_is_documented_and_nothing_else(document: dict[str, Any]) -> None:
    expected = {(route.path, route.method.lower()) for route in DOCUMENTED}
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    }
    assert sorted(expected - documented) == [], "routes missing from /openapi.json"
    assert sorted(documented - expected) == [], "/openapi.json documents routes the gateway does not serve"
    assert not SELF_DESCRIBING & set(document["paths"])


def test_path_parameters_are_declared(document: dict[str, Any]) -> None:
    for route in DOCUMENTED:
        operation = document["paths"][route.path][route.method.lower()]
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path" and p["required"]}
        assert declared == set(PATH_PARAM.findall(route.path)), f"{route.method} {route.path}"


def test_request_bodies_reference_schemas(document: dict[str, Any]) -> None:
    with_bodies = 0
    for route in DOCUMENTED:
        operation = document["paths"][route.path][route.method.lower()]
        takes_body = VALID_BODIES.get((route.method, route.path)) is not None
        assert ("requestBody" in operation) == takes_body, (
            f"{route.method} {route.path}: the OpenAPI document and VALID_BODIES in "
            "test_tenant_isolation.py disagree on whether it takes a body"
        )
        if not takes_body:
            continue
        with_bodies += 1
        body = operation["requestBody"]
        assert body["required"] is True, f"{route.method} {route.path}"
        reference = body["content"]["application/json"]["schema"]["$ref"]
        assert reference.startswith("#/components/schemas/"), f"{route.method} {route.path}: {reference}"
        schema = resolve(document, reference)
        assert schema["type"] == "object" and schema["properties"], reference
        assert schema.get("additionalProperties") is False, f"{reference} should say extra fields are refused"
        for name in schema.get("required", []):
            assert name in schema["properties"], f"{reference}: required {name} is not a property"
    assert with_bodies >= 7


def test_every_reference_in_the_document_resolves(document: dict[str, Any]) -> None:
    references = re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(document))
    assert references
    for reference in set(references):
        resolve(document, reference)


class _Assets(HTMLParser):
    """Every script and stylesheet the page loads, and whether it has inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if values.get("src"):
                self.external.append(str(values["src"]))
            else:
                self._in_script = True
        elif tag == "link" and values.get("href") and "stylesheet" in (values.get("rel") or ""):
            self.external.append(str(values["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def test_docs_serve_swagger_ui_from_the_api_itself(stack: RunningStack) -> None:
    response = httpx.get(f"{stack.base_url}/docs", timeout=20)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<html" in page.lower() and "SwaggerUIBundle" in page and 'id="swagger-ui"' in page

    assets = _Assets()
    assets.feed(page)
    assert assets.inline_scripts or assets.external, "the page loads no script"
    own_host = urlparse(stack.base_url).netloc
    foreign = [url for url in assets.external if urlparse(urljoin(stack.base_url, url)).netloc != own_host]
    assert foreign == [], f"/docs loads Swagger UI from elsewhere (a CDN?): {foreign}"
    for url in assets.external:  # whatever it loads from the API must be there
        asset = httpx.get(urljoin(f"{stack.base_url}/docs", url), timeout=20)
        assert asset.status_code == 200, f"{url}: {asset.status_code}"
    # The page describes the same API as /openapi.json.
    for route in DOCUMENTED:
        assert f'"{route.path}"' in page, route.path


def test_health_reports_ok(stack: RunningStack) -> None:
    response = httpx.get(f"{stack.base_url}/health", timeout=20)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"store": "ok", "events": "ok"}}
