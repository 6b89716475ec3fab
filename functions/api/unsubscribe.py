"""Unsubscribe links, in every email Plutomi sends: they stop invitations and other email the person did
not ask for. No sign-in; the token is the credential. The answer says "unsubscribed" and nothing else."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.entrypoints import schemas
from plutomi.entrypoints.api import Router, create_resolver, json_response, lambda_handler
from plutomi.entrypoints.headers import html_policy
from plutomi.services import email_feedback

router = Router()

STYLE = "body{font-family:system-ui,sans-serif;color:#111;max-width:36em;margin:3em auto;padding:0 1em}"
PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">'
    '<meta name="viewport" content="width=device-width,initial-scale=1"><title>Unsubscribed</title>'
    f"<style>{STYLE}</style></head>"
    "<body><h1>Unsubscribed</h1><p>You will no longer get invitations or other email you did not ask "
    "for from Plutomi at this address. Email you ask for, such as login codes and your application link, "
    "still arrives.</p></body></html>"
)
RESPONSES: dict[int, Any] = {
    200: {
        "description": "Unsubscribed (also when already unsubscribed)",
        "content": {
            "application/json": {"model": schemas.Unsubscribed},
            "text/html": {"schema": {"type": "string", "description": "a short page saying so"}},
        },
    },
}
# The page's one inline style is allowed by its hash; the other security headers come with every answer.
PAGE_HEADERS = {"Content-Security-Policy": html_policy(inline_styles=[STYLE]), "X-Robots-Tag": "noindex"}
DESCRIPTION = (
    'Answers `{"status": "unsubscribed"}`, or a short HTML page when the client accepts text/html. '
    "An unknown or malformed token is a 404 `unsubscribe_link_not_found`. Login codes and the link to an "
    "application the person applied to are still sent; nothing is sent to an address that bounced or "
    "complained."
)


@router.get(
    "/unsubscribe/<token>",
    summary="Unsubscribe from invitations and other email you did not ask for (the link in every email)",
    description=DESCRIPTION,
    responses=RESPONSES,
)
def unsubscribe_by_link(token: str) -> Response[schemas.Unsubscribed | str]:
    email_feedback.unsubscribe(dependencies(), token)
    return _unsubscribed()


@router.post(
    "/unsubscribe/<token>",
    summary="One-click unsubscribe (RFC 8058): what mail clients POST for List-Unsubscribe-Post",
    description=DESCRIPTION + " The body (`List-Unsubscribe=One-Click`) is not needed and is ignored.",
    responses=RESPONSES,
)
def unsubscribe_one_click(token: str) -> Response[schemas.Unsubscribed | str]:
    email_feedback.unsubscribe(dependencies(), token)
    return _unsubscribed()


def _unsubscribed() -> Response[Any]:
    accept = (router.current_event.headers.get("accept") or "").lower()
    if "text/html" in accept:
        return Response(
            status_code=HTTPStatus.OK,
            content_type="text/html; charset=utf-8",
            body=PAGE,
            headers=PAGE_HEADERS,
        )
    response = json_response(HTTPStatus.OK, schemas.Unsubscribed())
    response.headers["X-Robots-Tag"] = "noindex"
    return response


app = create_resolver(router)
handler = lambda_handler(app)
