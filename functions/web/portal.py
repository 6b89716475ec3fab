"""The applicant's private portal (the link from their email is the credential): where they are,
the current stage's questions, answering (without JavaScript too; files need it) and withdrawing."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from plutomi.bootstrap import dependencies
from plutomi.domain.errors import Conflict, InvalidFields, InvalidInput
from plutomi.domain.questions import QuestionType
from plutomi.services import applicants, decisions
from plutomi.services.portals import Portal
from plutomi.web import answer_forms, pages
from plutomi.web.storage import storage_origin

router = pages.Router()
SAVED = "Thank you: your answers are saved."


@router.get("/portal/<token>")
def portal_page(token: str) -> Response[str]:
    shown = applicants.portal(dependencies(), token)
    return _portal(token, shown, message=SAVED if pages.query(router, "saved") else "", message_kind="ok")


@router.post("/portal/<token>")
def answer(token: str) -> Response[str]:
    deps = dependencies()
    current = applicants.portal(deps, token)
    if current.stage is None:
        return _portal(token, current)
    form = pages.form(router)
    sent = answer_forms.answers_from_form(current.stage, form)
    try:
        applicants.submit_answers(deps, token, sent)
    except InvalidFields as error:
        # A refused upload is deleted: the form keeps the files that still count, and the answers.
        now = applicants.portal(deps, token)
        kept = {document.id for document in now.documents}
        values = answer_forms.shown_answers(current.stage, sent)
        for question in current.stage.questions:
            if question.type is QuestionType.FILE and question.id in error.fields:
                values[question.id] = [i for i in values[question.id] if i in kept]
        errors = answer_forms.field_messages(current.stage, error.fields)
        return _portal(token, now, HTTPStatus.UNPROCESSABLE_ENTITY, errors=errors, values=values)
    except InvalidInput as error:
        return _portal(token, current, HTTPStatus.UNPROCESSABLE_ENTITY, message=error.message)
    except Conflict as error:  # moved or decided meanwhile: show where they are now
        return _moved_meanwhile(token, error)
    return pages.redirect(f"/portal/{token}?saved=1", router=router)


@router.get("/portal/<token>/withdraw")
def confirm_withdrawal(token: str) -> Response[str]:
    shown = applicants.portal(dependencies(), token)
    if not shown.applicant.is_active:  # decided already: nothing to withdraw
        return pages.redirect(f"/portal/{token}", router=router)
    return pages.render("portal_withdraw.html", token=token, application=shown.application)


@router.post("/portal/<token>/withdraw")
def withdraw(token: str) -> Response[str]:
    deps = dependencies()
    try:
        decisions.withdraw(deps, token)
    except Conflict as error:
        return _moved_meanwhile(token, error)
    return pages.redirect(f"/portal/{token}", router=router)


def _moved_meanwhile(token: str, error: Conflict) -> Response[str]:
    shown = applicants.portal(dependencies(), token)
    return _portal(token, shown, HTTPStatus.CONFLICT, message=error.message, message_kind="warn")


def _portal(token: str, shown: Portal, status: int = HTTPStatus.OK, **context: Any) -> Response[str]:
    stage = shown.stage
    uploads = stage is not None and any(q.type is QuestionType.FILE for q in stage.questions)
    defaults: dict[str, Any] = {
        "errors": {},
        "values": answer_forms.shown_answers(stage, shown.applicant.answers) if stage else {},
        "message": "",
        "message_kind": "danger",
    }
    return pages.render(
        "portal.html",
        status,
        connect_sources=[storage_origin(dependencies().settings)] if uploads else [],
        token=token,
        portal=shown,
        uploads=uploads,
        where=answer_forms.where_you_are(shown),
        documents={document.id: document for document in shown.documents},
        forms=answer_forms,
        **(defaults | context),
    )


app = pages.create_page_resolver(router)
handler = pages.page_handler(app)
