"""Shared glue for page functions (functions/web/): the resolver with HTML error pages, rendering,
form bodies, redirects and the signed-in person.

- Pages render Jinja2 templates from `templates/` with autoescaping on and undefined names an error.
- Every page request that changes something (POST) must come from our own origin, signed in or not:
  the same `Sec-Fetch-Site`/`Origin` check the API applies to cookie sessions (`api.from_own_origin`),
  here for every unsafe request, so a form on another site can neither act for a signed-in person nor
  sign someone into an account of the attacker's choosing. Forms need no token for it.
- A `PlutomiError` becomes a page with its status, the error's message and a way back; a page that
  needs a session and has none redirects to /sign-in and comes back afterwards.
- htmx requests (`HX-Request`) get the same answers; a redirect becomes `HX-Redirect`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.shared.cookies import Cookie
from pydantic import BaseModel, ValidationError

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import (
    Forbidden,
    InvalidFields,
    NotFound,
    PlutomiError,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from plutomi.entrypoints.api import (
    SESSION_COOKIE,
    STATUS_BY_KIND,
    UNSAFE_METHODS,
    RequestHolder,
    ThreadSafeResolver,
    from_own_origin,
    lambda_handler,
    principal,
)
from plutomi.entrypoints.headers import html_policy
from plutomi.observability import logger
from plutomi.web import assets

if TYPE_CHECKING:  # Jinja and the services load with the first page rendered: not for a static file
    from jinja2 import Environment

    from plutomi.services.auth import Principal

Router = APIGatewayHttpRouter
HTML = "text/html; charset=utf-8"
TEMPLATES = Path(__file__).parent / "templates"
SIGN_IN = "/sign-in"
HOME = "/app"
Model = TypeVar("Model", bound=BaseModel)

# What each error status is called on its page.
TITLES = {
    HTTPStatus.BAD_REQUEST: "Check what you entered",
    HTTPStatus.UNPROCESSABLE_ENTITY: "Check what you entered",
    HTTPStatus.FORBIDDEN: "You can't do that here",
    HTTPStatus.NOT_FOUND: "We couldn't find that",
    HTTPStatus.CONFLICT: "That changed in the meantime",
    HTTPStatus.GONE: "That is no longer here",
    HTTPStatus.TOO_MANY_REQUESTS: "Too many tries",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Something went wrong on our side",
    HTTPStatus.SERVICE_UNAVAILABLE: "We can't do that right now",
}


@cache
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = assets.url
    return env


@dataclass(frozen=True)
class Form:
    """A submitted form: each field's values in order (a checkbox list has several)."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0] if found else default

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def first_values(self) -> dict[str, str]:
        return {name: values[0] for name, values in self.values.items() if values}


def form(router: RequestHolder) -> Form:
    """The request's `application/x-www-form-urlencoded` body (an empty form for anything else)."""
    event = router.current_event
    media_type = (event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return Form()
    try:
        body = event.decoded_body or ""
    except ValueError:
        return Form()
    return Form(parse_qs(body, keep_blank_values=True, max_num_fields=500))


def query(router: RequestHolder, name: str, default: str = "") -> str:
    return (router.current_event.query_string_parameters or {}).get(name, default)


def parse(model: type[Model], data: Mapping[str, Any]) -> Model:
    """`data` as `model`, or InvalidFields with one message per field (shown next to the field)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        fields: dict[str, str] = {}
        for problem in error.errors():
            name = ".".join(str(part) for part in problem.get("loc", ())) or "form"
            fields.setdefault(name, _readable(problem.get("msg", "Not valid")))
        raise InvalidFields("validation_failed", "Some fields need another look", fields) from error


def _readable(message: str) -> str:
    """Pydantic's message, as a sentence for a person ("Value error, " is noise)."""
    text = message.removeprefix("Value error, ")
    return text[:1].upper() + text[1:]


def render(
    template: str,
    status: int = HTTPStatus.OK,
    *,
    headers: Mapping[str, str] | None = None,
    cookies: list[Cookie] | None = None,
    connect_sources: Iterable[str] = (),
    frame_sources: Iterable[str] = (),
    image_sources: Iterable[str] = (),
    **context: Any,
) -> Response[str]:
    """The template as an HTML response. The CSP allows the named origins besides our own."""
    body = environment().get_template(template).render(**context)
    policy = html_policy(
        connect_sources=connect_sources, frame_sources=frame_sources, image_sources=image_sources
    )
    return Response(
        status_code=status,
        content_type=HTML,
        body=body,
        headers={"Content-Security-Policy": policy, **(headers or {})},
        cookies=cookies or [],
    )


def is_htmx(router: RequestHolder) -> bool:
    return (router.current_event.headers.get("hx-request") or "").lower() == "true"


def redirect(
    location: str, cookies: list[Cookie] | None = None, router: RequestHolder | None = None
) -> Response[str]:
    """A 303 to `location` (a GET after a POST). For htmx requests, `HX-Redirect` as well, since
    htmx follows a 303 itself and would swap the whole page into its target."""
    headers = {"Location": location}
    if router is not None and is_htmx(router):
        headers["HX-Redirect"] = location
    body = f'<!doctype html><title>Moved</title><a href="{escape(location, quote=True)}">Continue</a>'
    return Response(
        status_code=HTTPStatus.SEE_OTHER, content_type=HTML, body=body, headers=headers, cookies=cookies or []
    )


def safe_next(value: str | None, default: str = HOME) -> str:
    """A path on this site to go to after signing in; anything else (another host, a scheme,
    `//evil`, backslashes that browsers read as slashes) is replaced by `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 0x20 for char in value):
        return default
    return value


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN}?{urlencode({'next': next_path})}"


def signed_in(router: RequestHolder) -> Principal:
    """The signed-in person; without a session, an `Unauthenticated` that the resolver turns into a
    redirect to the sign-in page."""
    return principal(router)


def signed_in_or_none(router: RequestHolder) -> Principal | None:
    try:
        return principal(router)
    except Unauthenticated:
        return None


def has_session_cookie(router: RequestHolder) -> bool:
    return any(
        cookie.strip().startswith(f"{SESSION_COOKIE}=") for cookie in router.current_event.cookies or []
    )


def recruiter_page(
    router: RequestHolder,
    template: str,
    *,
    org_id: str | None = None,
    section: str = "",
    status: int = HTTPStatus.OK,
    me: Principal | None = None,
    **context: Any,
) -> Response[str]:
    """A page inside the recruiter's shell (app_layout.html): the org switcher needs the person's orgs,
    and a page of an org they are not in is the API's 404 `org_not_found`. Context the shell reads:
    `me`, `orgs`, `org` (the current OrgView or None) and `section` (the nav entry to mark)."""
    from plutomi.services import orgs as org_service

    me = me or signed_in(router)
    orgs = org_service.list_my_orgs(dependencies(), me)
    current = None
    if org_id is not None:
        current = next((view for view in orgs if view.org.org_id == org_id), None)
        if current is None:
            raise NotFound("org_not_found", f"No organisation {org_id!r} among yours")
    context.setdefault("errors", {})
    context.setdefault("values", {})
    return render(template, status, me=me, orgs=orgs, org=current, section=section, **context)


def _current_path(router: RequestHolder) -> str:
    event = router.current_event
    path = event.raw_path or "/"
    raw_query = event.raw_query_string
    return f"{quote(path, safe='/:.@-_~')}{'?' + raw_query if raw_query else ''}"


def error_page(error: PlutomiError, *, back: str = HOME) -> Response[str]:
    status = (
        HTTPStatus.UNPROCESSABLE_ENTITY if isinstance(error, InvalidFields) else STATUS_BY_KIND[error.kind]
    )
    headers = {}
    if isinstance(error, RateLimited | Unavailable):
        headers["Retry-After"] = str(error.retry_after_seconds)
    fields = error.fields if isinstance(error, InvalidFields) else {}
    return render(
        "error.html",
        status,
        headers=headers,
        title=TITLES.get(HTTPStatus(status), "That didn't work"),
        http_status=int(status),
        code=error.code,
        message=error.message,
        fields=fields,
        back=back,
    )


def create_page_resolver(*routers: Router) -> ThreadSafeResolver:
    app = ThreadSafeResolver(enable_validation=False)

    def same_origin_only(app: ThreadSafeResolver, next_middleware: Callable[..., Any]) -> Any:
        event = app.current_event
        if event.http_method.upper() in UNSAFE_METHODS and not from_own_origin(event):
            raise Forbidden(
                "cross_site_request",
                "This form was sent from another site. Open Plutomi's own page and send it again.",
            )
        return next_middleware(app)

    app.use([same_origin_only])

    def on_plutomi_error(error: PlutomiError) -> Response[str]:
        if isinstance(error, Unauthenticated):
            event = app.current_event
            next_path = _current_path(app) if event.http_method.upper() == "GET" else HOME
            return redirect(sign_in_url(next_path), router=app)
        if STATUS_BY_KIND[error.kind] >= HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.warning(
                "dependency unavailable", extra={"code": error.code, "cause": repr(error.__cause__)}
            )
        return error_page(error)

    def on_not_found(_: NotFoundError) -> Response[str]:
        return error_page(NotFound("page_not_found", "There is no page at this address."))

    def on_unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return render(
            "error.html",
            HTTPStatus.INTERNAL_SERVER_ERROR,
            title=TITLES[HTTPStatus.INTERNAL_SERVER_ERROR],
            http_status=500,
            code="internal_error",
            message="We have been told about it. Try again in a moment.",
            fields={},
            back=HOME,
        )

    app.exception_handler(PlutomiError)(on_plutomi_error)
    app.exception_handler(NotFoundError)(on_not_found)
    app.exception_handler(Exception)(on_unexpected)
    for router in routers:
        app.include_router(router)
    return app


# A page function's Lambda handler is an API function's: the same logging keys and security headers.
page_handler = lambda_handler
