"""The portal's answer form without a browser: a control for every question type, each rendered,
forms read into the answers the service takes, messages naming their question, and the storage
origin the upload pages allow matching the URLs the storage adapter signs."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from jinja2 import UndefinedError

from plutomi import bootstrap
from plutomi.adapters.s3_storage import S3Storage
from plutomi.config import get_settings
from plutomi.domain.applicants import Applicant
from plutomi.domain.decisions import ApplicantStatus
from plutomi.domain.pipeline import Application, ApplicationStatus, Stage
from plutomi.domain.questions import Question, QuestionType
from plutomi.services.portals import Portal
from plutomi.web import answer_forms, pages
from plutomi.web.storage import storage_origin

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OPTIONS = {QuestionType.SINGLE_CHOICE: ("Lisbon", "Porto"), QuestionType.MULTI_CHOICE: ("Vans", "Bikes")}
# How each type's control shows in the page: the element that carries the question's id.
RENDERED = {
    QuestionType.TEXT: r'<input id="q_text" name="q_text" type="text"',
    QuestionType.LONG_TEXT: r'<textarea id="q_long_text" name="q_long_text"',
    QuestionType.NUMBER: r'<input id="q_number" name="q_number" type="text"[^>]* inputmode="decimal"',
    QuestionType.BOOLEAN: r'<input id="q_boolean" name="q_boolean" type="radio" value="true"',
    QuestionType.EMAIL: r'<input id="q_email" name="q_email" type="email"',
    QuestionType.URL: r'<input id="q_url" name="q_url" type="url"',
    QuestionType.DATE: r'<input id="q_date" name="q_date" type="date"',
    QuestionType.SINGLE_CHOICE: r'<input id="q_single_choice" name="q_single_choice" type="radio" value="Lis',
    QuestionType.MULTI_CHOICE: r'<input id="q_multi_choice" name="q_multi_choice" type="checkbox" value="Va',
    QuestionType.FILE: r'<input id="q_file" type="file" accept="application/pdf,\.pdf,',
}


def question(kind: QuestionType, **fields: Any) -> Question:
    return Question(
        id=f"q_{kind.value}", type=kind, title=f"The {kind.value}", options=OPTIONS.get(kind, ()), **fields
    )


def portal_of(questions: list[Question], answers: dict[str, Any] | None = None, **applicant: Any) -> Portal:
    stage = Stage(
        id="stg_1",
        org_id="acme",
        application_id="app_1",
        name="Questions",
        questions=questions,
        created_at=NOW,
        updated_at=NOW,
    )
    application = Application(
        id="app_1",
        org_id="acme",
        name="Drivers",
        status=ApplicationStatus.OPEN,
        stage_ids=["stg_1", "stg_2"],
        created_at=NOW,
        updated_at=NOW,
    )
    person = Applicant(
        id="apl_1",
        org_id="acme",
        application_id="app_1",
        email="a@example.com",
        first_name="Ana",
        last_name="B",
        stage_id="stg_1",
        stage_entered_at=NOW,
        answers=answers or {},
        created_at=NOW,
        updated_at=NOW,
        **applicant,
    )
    return Portal(applicant=person, application=application, stage=stage)


def render(shown: Portal, **context: Any) -> str:
    assert shown.stage is not None
    defaults: dict[str, Any] = {
        "errors": {},
        "values": answer_forms.shown_answers(shown.stage, shown.applicant.answers),
        "message": "",
        "message_kind": "ok",
        "uploads": True,
        "documents": {},
    }
    return (
        pages.environment()
        .get_template("portal.html")
        .render(
            token="apl_1.secret",
            portal=shown,
            where=answer_forms.where_you_are(shown),
            forms=answer_forms,
            **(defaults | context),
        )
    )


def test_every_question_type_has_a_control_and_a_rendering() -> None:
    assert set(answer_forms.CONTROLS) == set(QuestionType) == set(RENDERED)
    with pytest.raises(RuntimeError, match="no control for file"):
        answer_forms.require_every_control(
            {k: v for k, v in answer_forms.CONTROLS.items() if k != QuestionType.FILE}
        )
    html = render(portal_of([question(kind) for kind in QuestionType]))
    for kind, control in RENDERED.items():
        assert re.search(control, html), f"no control for a {kind.value} question"
    assert html.count('<label for="q_') >= len(QuestionType), "every control has a label"


def test_a_control_kind_the_page_cannot_draw_fails_to_render(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = answer_forms.CONTROLS[QuestionType.TEXT]
    monkeypatch.setitem(answer_forms.CONTROLS, QuestionType.TEXT, dataclasses.replace(drawn, kind="slider"))  # type: ignore[arg-type]
    with pytest.raises(UndefinedError):
        render(portal_of([question(QuestionType.TEXT)]))


def test_stored_answers_are_shown_and_errors_sit_next_to_their_question() -> None:
    questions = [
        question(QuestionType.BOOLEAN),
        question(QuestionType.MULTI_CHOICE),
        question(QuestionType.NUMBER),
    ]
    shown = portal_of(questions, {"q_boolean": False, "q_multi_choice": ["Bikes"], "q_number": 3})
    html = render(shown, errors={"q_number": "The number must be a number"})
    assert re.search(r'id="q_boolean-2" name="q_boolean" type="radio" value="false" checked', html)
    assert re.search(r'name="q_multi_choice" type="checkbox" value="Bikes" checked', html)
    assert not re.search(r'value="Vans" checked', html)
    assert re.search(
        r'id="q_number" name="q_number" type="text" value="3"[^>]*aria-describedby="q_number-error"', html
    )
    assert '<p class="field-error" id="q_number-error">The number must be a number</p>' in html


def test_a_decided_applicant_sees_their_status_and_no_form() -> None:
    html = render(portal_of([question(QuestionType.TEXT)], status=ApplicantStatus.WITHDRAWN))
    assert "Withdrawn" in html and "<form" not in html and "Withdraw my application" not in html


@pytest.mark.parametrize(
    ("status", "stage_id", "label"),
    [
        (ApplicantStatus.ACTIVE, "stg_1", "In review"),
        (ApplicantStatus.ACTIVE, "stg_2", "Moved on"),
        (ApplicantStatus.REJECTED, "stg_1", "Rejected"),
        (ApplicantStatus.WITHDRAWN, "stg_1", "Withdrawn"),
        (ApplicantStatus.ACCEPTED, "stg_2", "Accepted"),
    ],
)
def test_where_the_applicant_is_in_plain_words(status: ApplicantStatus, stage_id: str, label: str) -> None:
    shown = portal_of([], status=status)
    moved = dataclasses.replace(
        shown, stage=shown.stage.model_copy(update={"id": stage_id}) if shown.stage else None
    )
    assert answer_forms.where_you_are(moved).label == label


def test_a_form_is_read_into_the_answers_the_service_takes() -> None:
    stage = portal_of([question(kind) for kind in QuestionType]).stage
    assert stage is not None
    form = pages.Form(
        {
            "q_text": ["  Ana  "],
            "q_number": [" 3 "],
            "q_boolean": ["false"],
            "q_multi_choice": ["Vans", "Bikes"],
            "q_single_choice": ["Porto"],
            "q_file": [""],
        }
    )
    answers = answer_forms.answers_from_form(stage, form)
    assert answers == {
        "q_text": "  Ana  ",  # the service trims and checks text itself
        "q_long_text": "",
        "q_number": "3",
        "q_boolean": False,
        "q_email": "",
        "q_url": "",
        "q_date": "",
        "q_single_choice": "Porto",
        "q_multi_choice": ["Vans", "Bikes"],
    }, "a file question without an upload is left out; everything else is sent, blank or not"
    with_file = answer_forms.answers_from_form(stage, pages.Form({"q_file": ["doc_1"]}))
    assert with_file["q_file"] == ["doc_1"] and with_file["q_boolean"] == ""


def test_the_services_messages_name_their_question() -> None:
    stage = portal_of([question(QuestionType.NUMBER), question(QuestionType.FILE)]).stage
    assert stage is not None
    messages = answer_forms.field_messages(
        stage, {"q_number": "must be a number", "q_file": "x.pdf is not a PDF", "elsewhere": "is required"}
    )
    assert messages == {"q_number": "The number must be a number", "q_file": "The file: x.pdf is not a PDF"}


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_storage_origin_is_where_the_adapter_signs_uploads_for(
    monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    # As on AWS: boto3 would sign for the endpoints the session's services exported otherwise. (Not
    # delenv: a settings read cached meanwhile would keep later tests from the services.)
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    settings = dataclasses.replace(
        get_settings(),
        aws_region=region,
        aws_endpoint_url=None,
        s3_endpoint_url=None,
        s3_credentials=("id", "key"),
    )
    monkeypatch.setattr(bootstrap, "get_settings", lambda: settings)
    on_aws = S3Storage.of_settings(settings).presigned_post("k", "application/pdf", 10, NOW - NOW, "t=u")
    assert (
        _origin(on_aws.url)
        == storage_origin(settings)
        == f"https://{settings.documents_bucket}.s3.{region}.amazonaws.com"
    )
    local = dataclasses.replace(settings, s3_endpoint_url="http://127.0.0.1:5123")
    signed = S3Storage.of_settings(local).presigned_post("k", "application/pdf", 10, NOW - NOW, "t=u")
    assert _origin(signed.url) == storage_origin(local) == "http://127.0.0.1:5123"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
