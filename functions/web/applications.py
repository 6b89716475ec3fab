"""An org's applications: the list with each one's status and applicant counts, and creating one."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.errors import Conflict, InvalidFields, InvalidInput
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.services import applications, board
from plutomi.services.auth import Principal
from plutomi.web import pages

router = pages.Router()


@router.get("/app/<org_id>")
def list_applications(org_id: str) -> Response[str]:
    return _page(pages.signed_in(router), org_id)


@router.post("/app/<org_id>/applications")
def create_application(org_id: str) -> Response[str]:
    me = pages.signed_in(router)
    form = pages.form(router)
    try:
        body = pages.parse(schemas.CreateApplication, form.first_values())
        design = applications.create_application(dependencies(), me, org_id, body.name, body.description)
    except InvalidFields as error:
        return _page(me, org_id, HTTPStatus.UNPROCESSABLE_ENTITY, error.fields, form)
    except (InvalidInput, Conflict) as error:
        return _page(me, org_id, HTTPStatus.UNPROCESSABLE_ENTITY, {"name": error.message}, form)
    return pages.redirect(f"/app/{org_id}/applications/{design.application.id}", router=router)


def _page(
    me: Principal,
    org_id: str,
    status: int = HTTPStatus.OK,
    errors: dict[str, str] | None = None,
    form: pages.Form | None = None,
) -> Response[str]:
    listed = board.applications_with_counts(dependencies(), me, org_id)
    return pages.recruiter_page(
        router,
        "applications.html",
        org_id=org_id,
        section="applications",
        status=status,
        me=me,
        listed=listed,
        statuses=tuple(ApplicantStatus),
        errors=errors or {},
        values=form.first_values() if form else {},
    )


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
