"""The recruiter's home: their organisations, and creating one."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import Conflict, InvalidFields, InvalidInput
from plutomi.entrypoints import schemas
from plutomi.services import orgs
from plutomi.services.auth import Principal
from plutomi.web import pages

router = pages.Router()


@router.get("/app")
def my_orgs() -> Response[str]:
    return pages.recruiter_page(router, "orgs.html")


@router.post("/app")
def create_org() -> Response[str]:
    me = pages.signed_in(router)
    form = pages.form(router)
    try:
        body = pages.parse(schemas.CreateOrg, form.first_values())
        created = orgs.create_org(dependencies(), me, body.id, body.display_name)
    except InvalidFields as error:
        return _refused(me, form, error.fields)
    except (InvalidInput, Conflict) as error:
        return _refused(me, form, {"id": error.message})
    return pages.redirect(f"/app/{created.org.org_id}", router=router)


def _refused(me: Principal, form: pages.Form, errors: dict[str, str]) -> Response[str]:
    return pages.recruiter_page(
        router,
        "orgs.html",
        me=me,
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        errors=errors,
        values=form.first_values(),
    )


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
