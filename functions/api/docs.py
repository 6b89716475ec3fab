"""The OpenAPI document of every API route, and Swagger UI to read it."""

from __future__ import annotations

import importlib

from aws_lambda_powertools.event_handler import Response, content_types

from plutomi.entrypoints.api import create_resolver, lambda_handler
from plutomi.topology import api_functions, module_of

_OTHER_FUNCTIONS = [name for name in api_functions() if name != "api.docs"]
app = create_resolver(*(importlib.import_module(module_of(name)).router for name in _OTHER_FUNCTIONS))
DESCRIPTION = "Multi-tenant applicant tracking. Sign in with POST /auth/totp, then POST /auth/totp/verify."
app.enable_swagger(path="/docs", title="Plutomi API", version="1.0.0", description=DESCRIPTION)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    document = app.get_openapi_json_schema(title="Plutomi API", version="1.0.0", description=DESCRIPTION)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=document)


handler = lambda_handler(app)
