"""What people looking for work see: an org's open applications, and applying to one. No sign-in;
works without JavaScript."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import InvalidFields, InvalidInput, NotFound, RateLimited
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.entrypoints.api import client_address
from plutomi.services import applicants
from plutomi.services.orgs import require_live_org
from plutomi.web import pages

router = pages.Router()


@router.get("/careers/<org_id>")
def open_applications(org_id: str) -> Response[str]:
    deps = dependencies()
    try:
        org = require_live_org(deps, org_id, NotFound("org_not_found", "There is no careers page here."))
    except NotFound as error:
        return pages.error_page(error, back="/")
    found = applicants.list_public_applications(deps, org_id)
    return pages.render("careers.html", org=org, org_id=org_id, applications=found)


@router.get("/careers/<org_id>/<application_id>")
def application_page(org_id: str, application_id: str) -> Response[str]:
    return _apply_form(org_id, application_id)


@router.post("/careers/<org_id>/<application_id>")
def apply(org_id: str, application_id: str) -> Response[str]:
    form = pages.form(router)
    values = form.first_values()
    try:
        body = pages.parse(schemas.Apply, {name: form.get(name).strip() for name in APPLY_FIELDS})
        applicants.apply(
            dependencies(),
            org_id,
            application_id,
            body.email,
            body.first_name,
            body.last_name,
            client=client_address(router),
        )
    except InvalidFields as error:
        return _apply_form(
            org_id, application_id, HTTPStatus.UNPROCESSABLE_ENTITY, errors=error.fields, values=values
        )
    except RateLimited as error:
        return _apply_form(
            org_id,
            application_id,
            HTTPStatus.TOO_MANY_REQUESTS,
            headers={"Retry-After": str(error.retry_after_seconds)},
            message=error.message,
            values=values,
        )
    except InvalidInput as error:
        return _apply_form(
            org_id,
            application_id,
            HTTPStatus.UNPROCESSABLE_ENTITY,
            errors={"email": error.message},
            values=values,
        )
    except NotFound as error:
        return pages.error_page(error, back=f"/careers/{org_id}")
    return pages.redirect(f"/careers/{org_id}/{application_id}/applied", router=router)


@router.get("/careers/<org_id>/<application_id>/applied")
def applied(org_id: str, application_id: str) -> Response[str]:
    return pages.render("applied.html", org_id=org_id)


APPLY_FIELDS = ("email", "first_name", "last_name")


def _apply_form(
    org_id: str,
    application_id: str,
    status: int = HTTPStatus.OK,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """The application and its form; a closed or unknown one is the 404 page, with a way back to
    the org's open applications."""
    try:
        application, _ = applicants.public_application(dependencies(), org_id, application_id)
    except NotFound as error:
        return pages.error_page(error, back=f"/careers/{org_id}")
    defaults: dict[str, Any] = {"errors": {}, "values": {}, "message": ""}
    return pages.render(
        "apply.html", status, headers=headers, org_id=org_id, application=application, **(defaults | context)
    )


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
