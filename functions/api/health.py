"""Liveness and readiness: the store and NATS JetStream answer."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import schemas
from plutomi.entrypoints.api import Router, create_resolver, json_response, lambda_handler
from plutomi.services import health

router = Router()


@router.get("/health", summary="Checks the store and the event bus")
def get_health() -> Response[schemas.Health]:
    checks = health.check_dependencies(dependencies())
    healthy = all(value == "ok" for value in checks.values())
    body = schemas.Health(status="ok" if healthy else "degraded", checks=checks)
    return json_response(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE, body)


app = create_resolver(router)
handler = lambda_handler(app)
