"""Swagger UI at /docs, served by the API itself, under the strict HTML policy (`headers.HTML_POLICY`).

The script and styles are the copies inside the Powertools package (no CDN), served from
`/docs/<name>.<hash>.<ext>` with a content hash in the name, so they may be cached for good. The page
has no inline script or style: the few lines that start Swagger UI are a file of their own, and it
reads the API description from /openapi.json. Swagger UI's validator badge is off (it would load an
image from validator.swagger.io).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aws_lambda_powertools.event_handler.openapi.swagger_ui as bundled
from aws_lambda_powertools.event_handler import Response

from plutomi.domain.errors import NotFound
from plutomi.entrypoints.headers import cached_forever

START_SCRIPT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    filter: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    withCredentials: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  });
});
"""


@dataclass(frozen=True)
class Asset:
    name: str  # e.g. swagger-ui-bundle.1a2b3c4d5e6f.js
    content_type: str
    text: str


def _asset(stem: str, extension: str, content_type: str, text: str) -> Asset:
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Asset(f"{stem}.{digest}.{extension}", content_type, text)


@cache
def assets() -> dict[str, Asset]:
    """The files the page loads, by name; read once per process."""
    folder = Path(bundled.__file__).parent
    found = [
        _asset(
            "swagger-ui-bundle",
            "js",
            "text/javascript; charset=utf-8",
            (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        ),
        _asset(
            "swagger-ui", "css", "text/css; charset=utf-8", (folder / "swagger-ui.min.css").read_text("utf-8")
        ),
        _asset("start", "js", "text/javascript; charset=utf-8", START_SCRIPT),
    ]
    return {asset.name: asset for asset in found}


@cache
def page() -> str:
    """The HTML of /docs. Asset URLs are relative, so the page works under a path prefix too."""
    script, styles, start = assets().values()
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Plutomi API</title>\n"
        f'<link rel="stylesheet" href="docs/{styles.name}">\n'
        "</head>\n<body>\n"
        '<div id="swagger-ui"></div>\n'
        f'<script src="docs/{script.name}"></script>\n'
        f'<script src="docs/{start.name}"></script>\n'
        "</body>\n</html>\n"
    )


def page_response() -> Response[Any]:
    return Response(status_code=HTTPStatus.OK, content_type="text/html; charset=utf-8", body=page())


def asset_response(name: str) -> Response[Any]:
    asset = assets().get(name)
    if asset is None:
        raise NotFound("route_not_found", "No such file; see /docs for the API")
    return cached_forever(asset.content_type, asset.text)
