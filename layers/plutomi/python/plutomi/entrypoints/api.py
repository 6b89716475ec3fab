"""Shared glue for API functions: the resolver with our error shape, auth, and the Lambda handler.

Errors leave as `{"error": {"code", "message"}}` (validation errors add `details`, one per field).
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Route
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from plutomi.bootstrap import dependencies
from plutomi.config import get_settings
from plutomi.domain.errors import Forbidden, InvalidFields, PlutomiError, RateLimited, Unavailable
from plutomi.entrypoints.headers import request_is_https, with_security_headers
from plutomi.observability import invocation_log_keys, logger

if TYPE_CHECKING:  # the auth service (events, rate limits, ports) loads with the first sign-in check
    from plutomi.services.auth import Principal

SESSION_COOKIE = "plutomi_session"
JSON_MEDIA_TYPE = "application/json"
# Methods that change something: a cookie-authenticated one must come from our own pages.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

STATUS_BY_KIND = {
    "invalid": HTTPStatus.BAD_REQUEST,
    "unauthenticated": HTTPStatus.UNAUTHORIZED,
    "forbidden": HTTPStatus.FORBIDDEN,
    "not_found": HTTPStatus.NOT_FOUND,
    "conflict": HTTPStatus.CONFLICT,
    "gone": HTTPStatus.GONE,
    "rate_limited": HTTPStatus.TOO_MANY_REQUESTS,
    "unavailable": HTTPStatus.SERVICE_UNAVAILABLE,
}

Router = APIGatewayHttpRouter
# Whatever holds the current request: a module's router, or the resolver itself.
RequestHolder = APIGatewayHttpRouter | APIGatewayHttpResolver


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, **extra}},
        headers=headers or {},
    )


def _field_name(location: tuple[Any, ...], kind: str) -> str:
    if kind == "json_invalid":
        return "body"
    return ".".join(str(part) for part in location if part != "body") or "body"


def _on_plutomi_error(error: PlutomiError) -> Response[Any]:
    headers = {}
    if isinstance(error, RateLimited | Unavailable):
        headers["Retry-After"] = str(error.retry_after_seconds)
    status = STATUS_BY_KIND[error.kind]
    if status >= 500:
        logger.warning("dependency unavailable", extra={"code": error.code, "cause": repr(error.__cause__)})
    if isinstance(error, InvalidFields):
        details = [{"field": field, "message": message} for field, message in error.fields.items()]
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, error.code, error.message, headers, details=details
        )
    return error_response(status, error.code, error.message, headers)


def _on_validation_error(error: RequestValidationError) -> Response[Any]:
    details = []
    for problem in error.errors():
        kind = problem.get("type", "invalid")
        message = (
            "The request body is not valid JSON" if kind == "json_invalid" else problem.get("msg", "invalid")
        )
        details.append(
            {"field": _field_name(tuple(problem.get("loc", ())), kind), "message": message, "type": kind}
        )
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_failed", summary, details=details)


def _on_unsupported_content_type(error: RequestUnsupportedContentType) -> Response[Any]:
    return error_response(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Send the request body as JSON, with content-type application/json",
    )


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading bodies as JSON only. Powertools also parses form and
    multipart bodies into the same models, which would let a plain HTML form on any site post to a
    JSON route (forms cannot send application/json without a CORS preflight): those are a 415 here."""

    def _get_body(self, app: Any) -> dict[str, Any]:
        event = app.current_event
        media_type = (event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if media_type != JSON_MEDIA_TYPE and (media_type or event.body):
            raise RequestUnsupportedContentType(
                "Unsupported content type",
                errors=[{"type": "unsupported_content_type", "loc": ("body",), "msg": media_type}],
            )
        body: dict[str, Any] = super()._get_body(app)
        return body


def _unreadable_body(event: Any) -> dict[str, Any] | None:
    """What is wrong with a request body the validator could not even parse, or None if it is fine."""
    content_type = (event.headers.get("content-type") or "").strip().lower()
    try:
        body = event.decoded_body  # JSON is UTF-8; this raises for other bytes
        if content_type.startswith("multipart/form-data") and "boundary=" not in content_type:
            return {
                "type": "multipart_invalid",
                "loc": ("body",),
                "msg": "multipart/form-data needs a boundary",
            }
        if body and (not content_type or content_type.startswith("application/json")):
            json.loads(body)  # raises RecursionError for absurdly deep nesting
    except (ValueError, RecursionError):
        return {"type": "json_invalid", "loc": ("body",), "msg": "The request body is not valid JSON"}
    return None


def _on_route_not_found(_: NotFoundError) -> Response[Any]:
    return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "No such route; see /docs for the API")


def _on_unexpected(error: Exception) -> Response[Any]:
    logger.exception("unhandled error", extra={"error_type": type(error).__name__})
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side"
    )


# The request each thread is resolving. Powertools keeps it once per process (`BaseRouter.current_event`
# is a class attribute; `context` belongs to the resolver), which suits Lambda's one invocation at a
# time; the gateway resolves requests in a thread pool, where that state must be per thread.
_resolving = threading.local()
_building_stacks = threading.Lock()

# What Powertools lets a path parameter hold (its `_NAMED_GROUP_BOUNDARY_PATTERN`): a value outside it
# is a 404 from Powertools' own matching, so a route found by its key must be refused alike.
_POWERTOOLS_PARAMETER = re.compile(r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+")
_POWERTOOLS_NAME = re.compile(r"<(\w+)>")


def _api_gateway_path(powertools_path: str) -> str:
    """`/orgs/<org_id>` as API Gateway writes it in a route key: `/orgs/{org_id}`."""
    return _POWERTOOLS_NAME.sub(r"{\1}", powertools_path)


class ThreadSafeResolver(APIGatewayHttpResolver):
    """`APIGatewayHttpResolver` whose request state (the event, the Lambda context, the per-request
    `context` dict) lives in the calling thread, shared by every resolver as Powertools shares it: a
    router included in two resolvers (ours and api.docs') reads whichever resolved in its thread."""

    @property
    def current_event(self) -> Any:
        return _resolving.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        _resolving.event = value

    @property
    def lambda_context(self) -> Any:
        return _resolving.lambda_context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        _resolving.lambda_context = value

    @property
    def context(self) -> dict[str, Any]:
        if not hasattr(_resolving, "context"):
            _resolving.context = {}
        found: dict[str, Any] = _resolving.context
        return found

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        _resolving.context = value

    # Built on first use (routers are included after construction), rebuilt if routes are added.
    _routes_by_key: tuple[int, dict[str, Route]] = (0, {})

    def _to_proxy_event(self, event: dict[str, Any]) -> Any:
        # `resolve` stores the event on the class for every thread; keep this thread's own as well.
        self.current_event = super()._to_proxy_event(event)
        return self.current_event

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        self.lambda_context = context
        return super().resolve(event, context)

    def _resolve(self) -> Any:
        # API Gateway (and our gateway) already matched the route: the event names it in `routeKey`
        # with its `pathParameters`. Use them rather than matching every route's regex again; an
        # event without them (or naming no route of ours) goes through Powertools' own matching.
        found = self._route_named_by(self.current_event)
        if found is None:
            return super()._resolve()
        route, arguments = found
        self.append_context(_route=route, _path=self.current_event.path)
        return self._call_route(route, arguments)

    def _route_named_by(self, event: Any) -> tuple[Route, dict[str, str]] | None:
        method, _, template = (event.get("routeKey") or "").partition(" ")
        if method != event.http_method.upper():
            return None
        routes = self._static_routes + self._dynamic_routes
        counted, by_key = self._routes_by_key
        if counted != len(routes):
            by_key = {f"{route.method} {_api_gateway_path(route.path)}": route for route in routes}
            self._routes_by_key = (len(routes), by_key)
        route = by_key.get(f"{method} {template}")
        if route is None:
            return None
        arguments: dict[str, str] = event.get("pathParameters") or {}
        names = _POWERTOOLS_NAME.findall(route.path)
        if set(arguments) != set(names) or not all(
            _POWERTOOLS_PARAMETER.fullmatch(value) for value in arguments.values()
        ):
            return None
        return route, arguments

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> Any:
        # Powertools builds a route's middleware stack on its first call, frame by frame into the
        # route itself: two first calls at once wrapped one stack in the other, and the route
        # answered 500 ever after (`MiddlewareFrame.__call__() missing ... 'app'`). Built once, here.
        if not route._middleware_stack_built:
            with _building_stacks:
                if not route._middleware_stack_built:
                    route._build_middleware_stack(router_middlewares=self._router_middlewares, app=self)
        return super()._call_route(route, route_arguments)


def create_resolver(*routers: APIGatewayHttpRouter) -> APIGatewayHttpResolver:
    app = ThreadSafeResolver(enable_validation=True)
    app._request_validation_middleware = JsonBodyValidation()
    app.exception_handler(PlutomiError)(_on_plutomi_error)
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(RequestUnsupportedContentType)(_on_unsupported_content_type)
    app.exception_handler(NotFoundError)(_on_route_not_found)
    app.exception_handler(Exception)(_on_unexpected)

    def _on_value_error(error: Exception) -> Response[Any]:
        # Parsing a malformed body (not UTF-8, nested too deep, multipart without a boundary) raises
        # these before validation can report it: the caller's mistake. Anything else is ours.
        problem = _unreadable_body(app.current_event)
        if problem is None:
            return _on_unexpected(error)
        return _on_validation_error(RequestValidationError([problem]))

    app.exception_handler(ValueError)(_on_value_error)
    app.exception_handler(RecursionError)(_on_value_error)

    for router in routers:
        app.include_router(router)
    return app


def lambda_handler(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    @invocation_log_keys(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return with_security_headers(app.resolve(event, context), https=request_is_https(event))

    return handler


def session_token(router: RequestHolder) -> str | None:
    """The caller's session token: a bearer token, else the session cookie. A cookie is sent by the
    browser whoever made the page, so an unsafe request that rides on it must come from our own
    origin (403 `cross_site_request` otherwise); a bearer token is never sent by a browser on its own."""
    event = router.current_event
    authorization = event.headers.get("authorization") or ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    for cookie in event.cookies or []:
        name, _, value = cookie.strip().partition("=")
        if name == SESSION_COOKIE and value:
            if event.http_method.upper() in UNSAFE_METHODS and not from_own_origin(event):
                raise Forbidden(
                    "cross_site_request",
                    "This request came from another site; sign in and use Plutomi's own pages, or send "
                    "an Authorization bearer token",
                )
            return value
    return None


def from_own_origin(event: Any) -> bool:
    """Whether the browser says the request came from one of our own pages: `Sec-Fetch-Site`
    where the browser sends it, else `Origin`. A request with neither is refused: every browser that
    sends cookies on a POST also sends one of them."""
    fetch_site = (event.headers.get("sec-fetch-site") or "").strip().lower()
    if fetch_site:
        return fetch_site == "same-origin"
    origin = (event.headers.get("origin") or "").strip().rstrip("/").lower()
    return bool(origin) and origin in _own_origins(event)


def _own_origins(event: Any) -> set[str]:
    base = urlsplit(get_settings().base_url)
    own = {f"{base.scheme}://{base.netloc}".lower()}
    host = (event.headers.get("host") or "").strip().lower()
    if host:
        scheme = (event.headers.get("x-forwarded-proto") or base.scheme).split(",")[0].strip().lower()
        own.add(f"{scheme}://{host}")
    return own


def client_address(router: RequestHolder) -> str:
    """The address of the client behind the request, for rate limits. By default the address the
    connection came from (API Gateway's `sourceIp`). Behind proxies of ours (`PLUTOMI_CLIENT_IP_HEADER`,
    `PLUTOMI_TRUSTED_PROXY_HOPS`): the entry the outermost of them appended to that header; entries
    further left are whatever the client claimed, and never trusted."""
    event = router.current_event
    settings = get_settings()
    if settings.client_ip_header:
        claimed = event.headers.get(settings.client_ip_header) or ""
        hops = [part.strip() for part in claimed.split(",") if part.strip()]
        if len(hops) >= settings.trusted_proxy_hops:
            candidate = hops[-settings.trusted_proxy_hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return str(event.request_context.http.source_ip or "unknown")


def principal(router: RequestHolder) -> Principal:
    """The signed-in caller, or a 401."""
    from plutomi.services.auth import authenticate

    return authenticate(dependencies(), session_token(router))


def session_cookie(token: str, expires_at: datetime) -> Cookie:
    return Cookie(
        name=SESSION_COOKIE,
        value=token,
        path="/",
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        expires=expires_at,
    )


def cleared_session_cookie() -> Cookie:
    return Cookie(
        name=SESSION_COOKIE,
        value="",
        path="/",
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=0,
    )


def json_response(status: int, model: BaseModel, cookies: list[Cookie] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump(mode="json"),
        cookies=cookies or [],
    )


def no_content(cookies: list[Cookie] | None = None) -> Response[Any]:
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type=None, body=None, cookies=cookies or [])
