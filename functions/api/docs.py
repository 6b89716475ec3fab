"""The OpenAPI document of every API route, and Swagger UI to read it."""

from __future__ import annotations

import importlib
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from plutomi.entrypoints import openapi, swagger_ui
from plutomi.entrypoints.api import create_resolver, lambda_handler
from plutomi.topology import api_functions

_OTHER_FUNCTIONS = [name for name in api_functions() if name.startswith("api.") and name != "api.docs"]
# Relative to this package: `functions.api` here, but `api` on Lambda (whose code root is functions/).
app = create_resolver(
    *(
        importlib.import_module(f".{name.removeprefix('api.')}", __package__).router
        for name in _OTHER_FUNCTIONS
    )
)
TITLE, VERSION = "Plutomi API", "1.0.0"
DESCRIPTION = (
    "Multi-tenant applicant tracking. Sign in with POST /auth/totp, then POST /auth/totp/verify; send "
    "the token as `Authorization: Bearer <token>` (Authorize, above) or let the browser send the cookie. "
    'Errors are `{"error": {"code", "message", "details"?}}`; docs/api.md lists every code.'
)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    document = openapi.document_json(app, TITLE, VERSION, DESCRIPTION)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=document)


@app.get("/docs", include_in_schema=False)
def docs_page() -> Response[Any]:
    return swagger_ui.page_response()


@app.get("/docs/<asset>", include_in_schema=False, compress=True)
def docs_asset(asset: str) -> Response[Any]:
    return swagger_ui.asset_response(asset)


handler = lambda_handler(app)
