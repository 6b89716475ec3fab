"""The applicant page: answers by stage, documents previewed inline, the timeline, moving, decisions
(reject, reopen, accept) and erasing their data after a confirmation page."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import Conflict, InvalidFields, InvalidInput
from plutomi.entrypoints import pipeline_schemas as schemas
from plutomi.services import (
    applicants,
    applications,
    decisions,
    documents,
    email_templates,
    members,
    rejection_reasons,
)
from plutomi.services.auth import Principal
from plutomi.web import pages
from plutomi.web.applicant_view import applicant_view, full_name
from plutomi.web.storage import storage_origin

router = pages.Router()
APPLICANT = "/app/<org_id>/applicants/<applicant_id>"
ERASE_WORD = "erase"
# What a finished action says on the page it leads to (`?done=`): fixed texts, never the query's.
DONE = {
    "moved": "Moved.",
    "rejected": "Rejected.",
    "reopened": "Reopened: they are active again.",
    "accepted": "Accepted: the final decision is recorded.",
}
# The form's field names (unique on the page) -> the API body's.
REJECT_FIELDS = {"reason_id": "reason_id", "reject_note": "note"}
ACCEPT_FIELDS = {"accept_note": "note"}
MOVE_FIELDS = {"to_stage_id": "to_stage_id"}


def page_path(org_id: str, applicant_id: str) -> str:
    return f"/app/{org_id}/applicants/{applicant_id}"


def board_path(org_id: str, application_id: str) -> str:
    return f"/app/{org_id}/applications/{application_id}/board"


@router.get(APPLICANT)
def applicant_page(org_id: str, applicant_id: str) -> Response[str]:
    done = DONE.get(pages.query(router, "done"), "")
    return _page(pages.signed_in(router), org_id, applicant_id, notice=done, notice_kind="ok")


@router.post(f"{APPLICANT}/move")
def move_applicant(org_id: str, applicant_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    if not form.get("to_stage_id"):
        return _refused(me, org_id, applicant_id, form, "move", {"to_stage_id": "Choose a stage"})
    try:
        body = pages.parse(
            schemas.MoveApplicant,
            {
                "from_stage_id": form.get("from_stage_id"),
                "to_stage_id": form.get("to_stage_id"),
                "send_email": "move_send_email" in form,
            },
        )
        applicants.move_applicant(
            dependencies(), me, org_id, applicant_id, body.from_stage_id, body.to_stage_id, body.send_email
        )
    except InvalidFields as error:
        return _refused(me, org_id, applicant_id, form, "move", _named(error.fields, MOVE_FIELDS))
    except InvalidInput as error:
        return _refused(me, org_id, applicant_id, form, "move", {"to_stage_id": error.message})
    except Conflict as error:
        return _stale(me, org_id, applicant_id, error)
    return _done(org_id, applicant_id, "moved")


@router.post(f"{APPLICANT}/reject")
def reject_applicant(org_id: str, applicant_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    errors: dict[str, str] = {}
    if not form.get("reason_id"):
        errors["reason_id"] = "Choose the reason for rejecting them"
    try:
        body = pages.parse(
            schemas.RejectApplicant,
            {
                "reason_id": form.get("reason_id"),
                "note": form.get("reject_note"),
                "send_email": "send_email" in form,
            },
        )
    except InvalidFields as error:
        errors |= _named(error.fields, REJECT_FIELDS)
    if errors:
        return _refused(me, org_id, applicant_id, form, "reject", errors)
    try:
        decisions.reject(dependencies(), me, org_id, applicant_id, body.reason_id, body.note, body.send_email)
    except InvalidInput as error:
        message = (
            "That reason is no longer one of the organisation's; choose another"
            if error.code == "invalid_rejection_reason"
            else error.message
        )
        return _refused(me, org_id, applicant_id, form, "reject", {"reason_id": message})
    except Conflict as error:
        return _stale(me, org_id, applicant_id, error)
    return _done(org_id, applicant_id, "rejected")


@router.post(f"{APPLICANT}/reopen")
def reopen_applicant(org_id: str, applicant_id: str) -> Response[str]:
    me = pages.signed_in(router)
    try:
        decisions.reopen(dependencies(), me, org_id, applicant_id)
    except Conflict as error:
        return _stale(me, org_id, applicant_id, error)
    return _done(org_id, applicant_id, "reopened")


@router.post(f"{APPLICANT}/accept")
def accept_applicant(org_id: str, applicant_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    try:
        body = pages.parse(schemas.AcceptApplicant, {"note": form.get("accept_note")})
        decisions.accept(dependencies(), me, org_id, applicant_id, body.note)
    except InvalidFields as error:
        return _refused(me, org_id, applicant_id, form, "accept", _named(error.fields, ACCEPT_FIELDS))
    except Conflict as error:
        return _stale(me, org_id, applicant_id, error)
    return _done(org_id, applicant_id, "accepted")


@router.get(f"{APPLICANT}/erase")
def confirm_erasure(org_id: str, applicant_id: str) -> Response[str]:
    return _erase_page(pages.signed_in(router), org_id, applicant_id)


@router.post(f"{APPLICANT}/erase")
def erase_applicant(org_id: str, applicant_id: str) -> Response[str]:
    me, form = pages.signed_in(router), pages.form(router)
    deps = dependencies()
    applicant = applicants.get_applicant(deps, me, org_id, applicant_id)
    if form.get("confirm").strip().casefold() != ERASE_WORD:
        errors = {"confirm": f"Type {ERASE_WORD} to confirm that their data goes for good"}
        return _erase_page(
            me, org_id, applicant_id, status=HTTPStatus.UNPROCESSABLE_ENTITY, errors=errors, form=form
        )
    applicants.delete_applicant(deps, me, org_id, applicant_id)
    return pages.redirect(
        f"{board_path(org_id, applicant.application_id)}?notice=applicant_erased", router=router
    )


# ---------------------------------------------------------------- rendering


def _page(
    me: Principal,
    org_id: str,
    applicant_id: str,
    *,
    status: int = HTTPStatus.OK,
    refused: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
    notice_kind: str = "info",
) -> Response[str]:
    deps = dependencies()
    applicant = applicants.get_applicant(deps, me, org_id, applicant_id)  # 404 for strangers first
    design = applications.get_design(deps, me, org_id, applicant.application_id)
    found = documents.list_documents(deps, me, org_id, applicant_id)
    view = applicant_view(applicant, design.stages, found, members.list_members(deps, me, org_id))
    reasons = rejection_reasons.list_reasons(deps, me, org_id) if applicant.is_active else []
    email = (
        email_templates.preview(
            deps, me, org_id, email_templates.Target.rejected(), applicant_id=applicant_id
        )
        if applicant.is_active
        else None
    )
    origin = storage_origin(deps.settings)
    return pages.recruiter_page(
        router,
        "applicant.html",
        org_id=org_id,
        section="applications",
        me=me,
        status=status,
        frame_sources=[origin],
        image_sources=[origin],
        view=view,
        application=design.application,
        board=board_path(org_id, applicant.application_id),
        base=page_path(org_id, applicant_id),
        reasons=[(reason.id, reason.label) for reason in reasons],
        email=email,
        refused=refused,
        errors=errors or {},
        values=values or {},
        notice=notice,
        notice_kind=notice_kind,
    )


def _refused(
    me: Principal, org_id: str, applicant_id: str, form: pages.Form, which: str, errors: dict[str, str]
) -> Response[str]:
    """The page again, with `which` form's messages next to its fields and what was typed."""
    return _page(
        me,
        org_id,
        applicant_id,
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        refused=which,
        errors=errors,
        values=form.first_values(),
    )


def _stale(me: Principal, org_id: str, applicant_id: str, error: Conflict) -> Response[str]:
    """Someone else decided or moved them first: the page as it is now, saying what happened."""
    message = f"That changed in the meantime: {error.message}. This page now shows them as they are."
    return _page(me, org_id, applicant_id, status=HTTPStatus.CONFLICT, notice=message, notice_kind="danger")


def _done(org_id: str, applicant_id: str, what: str) -> Response[str]:
    return pages.redirect(f"{page_path(org_id, applicant_id)}?done={what}", router=router)


def _named(fields: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    """The body's field messages under the form's field names."""
    by_body = {body: form for form, body in names.items()}
    return {by_body.get(name, name): message for name, message in fields.items()}


def _erase_page(
    me: Principal,
    org_id: str,
    applicant_id: str,
    *,
    status: int = HTTPStatus.OK,
    errors: dict[str, str] | None = None,
    form: pages.Form | None = None,
) -> Response[str]:
    deps = dependencies()
    applicant = applicants.get_applicant(deps, me, org_id, applicant_id)
    found = documents.list_documents(deps, me, org_id, applicant_id)
    return pages.recruiter_page(
        router,
        "applicant_erase.html",
        org_id=org_id,
        section="applications",
        me=me,
        status=status,
        applicant=applicant,
        name=full_name(applicant),
        document_count=len(found),
        base=page_path(org_id, applicant_id),
        erase_word=ERASE_WORD,
        errors=errors or {},
        values=form.first_values() if form else {},
    )


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
