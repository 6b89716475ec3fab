"""Signing in with an emailed code, and out. Works without JavaScript."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import InvalidFields, InvalidInput, RateLimited, Unauthenticated
from plutomi.entrypoints import schemas
from plutomi.entrypoints.api import cleared_session_cookie, client_address, session_cookie
from plutomi.services import auth
from plutomi.web import pages

router = pages.Router()


@router.get("/")
def home() -> Response[str]:
    signed_in = pages.signed_in_or_none(router) if pages.has_session_cookie(router) else None
    return pages.redirect(pages.HOME if signed_in else pages.SIGN_IN)


@router.get("/sign-in")
def sign_in_page() -> Response[str]:
    next_path = pages.safe_next(pages.query(router, "next"))
    if pages.has_session_cookie(router) and pages.signed_in_or_none(router):
        return pages.redirect(next_path)
    return _sign_in("email", next_path)


@router.post("/sign-in")
def request_code() -> Response[str]:
    form = pages.form(router)
    next_path = pages.safe_next(form.get("next"))
    try:
        request = pages.parse(schemas.RequestCode, {"email": form.get("email").strip()})
        auth.request_login_code(dependencies(), request.email, client_address(router))
    except InvalidFields as error:
        return _sign_in("email", next_path, status=422, errors=error.fields, values=form.first_values())
    except (InvalidInput, RateLimited) as error:
        status = 429 if isinstance(error, RateLimited) else 422
        errors = {"email": error.message}
        return _sign_in("email", next_path, status=status, errors=errors, values=form.first_values())
    return _sign_in("code", next_path, email=request.email)


@router.post("/sign-in/code")
def verify_code() -> Response[str]:
    form = pages.form(router)
    next_path = pages.safe_next(form.get("next"))
    email = form.get("email").strip()
    try:
        entered = pages.parse(schemas.VerifyCode, {"email": email, "code": form.get("code").strip()})
        result = auth.verify_login_code(dependencies(), entered.email, entered.code, client_address(router))
    except InvalidFields as error:
        errors = {"code": error.fields.get("code") or next(iter(error.fields.values()))}
        return _sign_in("code", next_path, status=422, errors=errors, email=email, values=form.first_values())
    except (Unauthenticated, RateLimited) as error:
        status = 429 if isinstance(error, RateLimited) else 422
        return _sign_in("code", next_path, status=status, errors={"code": error.message}, email=email)
    return pages.redirect(next_path, cookies=[session_cookie(result.token, result.session.expires_at)])


@router.post("/sign-out")
def sign_out() -> Response[str]:
    signed_in = pages.signed_in_or_none(router)
    if signed_in is not None:
        auth.logout(dependencies(), signed_in)
    return pages.redirect(pages.SIGN_IN, cookies=[cleared_session_cookie()])


def _sign_in(step: str, next_path: str, status: int = 200, **context: Any) -> Response[str]:
    defaults: dict[str, Any] = {"errors": {}, "values": {}, "email": "", "message": ""}
    return pages.render("sign_in.html", status, step=step, next=next_path, **(defaults | context))


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
