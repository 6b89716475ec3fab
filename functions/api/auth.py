"""Login by email code, and logout."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import schemas
from plutomi.entrypoints.api import (
    Router,
    cleared_session_cookie,
    client_address,
    create_resolver,
    json_response,
    lambda_handler,
    no_content,
    principal,
    session_cookie,
)
from plutomi.services import auth

router = Router()


@router.post("/auth/totp", status_code=HTTPStatus.ACCEPTED, summary="Email a one-time login code")
def request_code(body: schemas.RequestCode) -> Response[schemas.Accepted]:
    auth.request_login_code(dependencies(), body.email, client_address(router))
    return json_response(
        HTTPStatus.ACCEPTED,
        schemas.Accepted(message="If the address can receive email, a code is on its way"),
    )


@router.post("/auth/totp/verify", summary="Exchange a login code for a session")
def verify_code(body: schemas.VerifyCode) -> Response[schemas.SessionOut]:
    deps = dependencies()
    result = auth.verify_login_code(deps, body.email, body.code, client_address(router))
    out = schemas.SessionOut(
        user=schemas.UserOut.of(result.user), token=result.token, expires_at=result.session.expires_at
    )
    cookie = session_cookie(result.token, result.session.expires_at)
    return json_response(HTTPStatus.CREATED if result.new_user else HTTPStatus.OK, out, cookies=[cookie])


@router.post("/auth/logout", status_code=HTTPStatus.NO_CONTENT, summary="Revoke the current session")
def logout() -> Response[Any]:
    auth.logout(dependencies(), principal(router))
    return no_content(cookies=[cleared_session_cookie()])


app = create_resolver(router)
handler = lambda_handler(app)
