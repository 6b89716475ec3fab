"""The applicant page's content: answers in words by question type, documents and how each is
previewed, who moved or decided (members, rules, the sweeper), the timeline's order, and the storage
origin the page's CSP allows for previews."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from plutomi import bootstrap
from plutomi.adapters.s3_storage import S3Storage
from plutomi.config import get_settings
from plutomi.domain.applicants import Applicant, Decision, StageVisit
from plutomi.domain.decisions import ApplicantStatus, DecisionAction
from plutomi.domain.documents import Document, DocumentState, ScanStatus
from plutomi.domain.models import Membership, Role
from plutomi.domain.movers import Mover
from plutomi.domain.pipeline import AnswerRule, Condition, IdleRule, Stage
from plutomi.domain.questions import Operator, Question, QuestionType
from plutomi.web.applicant_view import (
    Preview,
    answer_text,
    applicant_view,
    document_view,
    duration_words,
    human_size,
)
from plutomi.web.storage import storage_origin

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def question(kind: QuestionType, **more: object) -> Question:
    return Question(id=f"q_{kind.value}", type=kind, title=kind.value, **more)


@pytest.mark.parametrize(
    ("kind", "answer", "shown"),
    [
        (QuestionType.BOOLEAN, True, "Yes"),
        (QuestionType.BOOLEAN, False, "No"),
        (QuestionType.MULTI_CHOICE, ["Mon", "Sat"], "Mon, Sat"),
        (QuestionType.SINGLE_CHOICE, "Van", "Van"),
        (QuestionType.DATE, "2027-01-05", "5 January 2027"),
        (QuestionType.NUMBER, 7.0, "7"),
        (QuestionType.NUMBER, 2.5, "2.5"),
        (QuestionType.TEXT, "<b>hi</b>", "<b>hi</b>"),  # the template escapes it
    ],
)
def test_answers_read_as_words_by_type(kind: QuestionType, answer: object, shown: str) -> None:
    assert answer_text(question(kind), answer) == shown


def document(content_type: str, scan: ScanStatus = ScanStatus.NOT_SCANNED, size: int = 2048) -> Document:
    return Document(
        id="doc_1",
        org_id="acme",
        applicant_id="apl_1",
        application_id="app_1",
        stage_id="stg_1",
        question_id="q_file",
        key="orgs/acme/applicants/apl_1/doc_1",
        file_name="licence",
        content_type=content_type,
        sniffed_type=content_type,
        size_bytes=size,
        state=DocumentState.CONFIRMED,
        scan_status=scan,
        scan_detail="EICAR" if scan is ScanStatus.INFECTED else None,
        created_at=NOW,
        updated_at=NOW,
    )


def test_pdfs_are_framed_images_shown_and_the_rest_said_why_not() -> None:
    assert document_view(document("application/pdf")).preview is Preview.FRAME
    assert document_view(document("image/png")).preview is Preview.IMAGE
    heic = document_view(document("image/heic"))
    assert heic.preview is Preview.NONE and heic.openable and "HEIC image" in heic.why_not_previewed
    infected = document_view(document("application/pdf", ScanStatus.INFECTED))
    assert infected.preview is Preview.NONE and not infected.openable
    assert "EICAR" in infected.why_not_previewed
    pending = document_view(document("image/png", ScanStatus.PENDING))
    assert pending.preview is Preview.NONE and not pending.openable and "scanned" in pending.why_not_previewed
    assert [human_size(n) for n in (78, 2048, 3 * 1024 * 1024)] == ["78 bytes", "2.0 KB", "3 MB"]
    assert [duration_words(n) for n in (1, 90, 120, 2880)] == ["1 minute", "90 minutes", "2 hours", "2 days"]


def stage(stage_id: str, name: str, **more: object) -> Stage:
    return Stage(
        id=stage_id, org_id="acme", application_id="app_1", name=name, created_at=NOW, updated_at=NOW, **more
    )


def test_the_timeline_names_who_moved_and_decided_newest_first() -> None:
    licence = question(QuestionType.BOOLEAN)
    rule = AnswerRule(
        id="rul_answer",
        to_stage_id="stg_review",
        conditions=(Condition(question_id=licence.id, operator=Operator.IS_TRUE),),
    )
    idle = IdleRule(id="rul_idle", to_stage_id="stg_final", after_minutes=1440)
    stages = [
        stage("stg_screen", "Screen", questions=[licence], rules=[rule]),
        stage("stg_review", "Review", rules=[idle]),
        stage("stg_final", "Final"),
    ]
    at = [NOW + timedelta(minutes=n) for n in range(5)]
    history = [
        StageVisit(
            stage_id="stg_screen",
            entered_at=at[0],
            entered_by=Mover(kind="applicant"),
            exited_at=at[1],
            exited_by=Mover(kind="rule", id="rul_answer"),
        ),
        StageVisit(
            stage_id="stg_review",
            entered_at=at[1],
            entered_by=Mover(kind="rule", id="rul_answer"),
            exited_at=at[2],
            exited_by=Mover(kind="sweeper", id="rul_idle"),
        ),
        StageVisit(stage_id="stg_final", entered_at=at[2], entered_by=Mover(kind="sweeper", id="rul_idle")),
    ]
    decisions = [
        Decision(
            action=DecisionAction.REJECT,
            from_status=ApplicantStatus.ACTIVE,
            to_status=ApplicantStatus.REJECTED,
            stage_id="stg_final",
            reason_id="rjr_1",
            reason_label="Not qualified",
            note="No licence",
            by=Mover(kind="user", id="usr_ann"),
            at=at[3],
        ),
        Decision(
            action=DecisionAction.REOPEN,
            from_status=ApplicantStatus.REJECTED,
            to_status=ApplicantStatus.ACTIVE,
            stage_id="stg_final",
            by=Mover(kind="user", id="usr_gone"),
            at=at[4],
        ),
    ]
    applicant = Applicant(
        id="apl_1",
        org_id="acme",
        application_id="app_1",
        email="sam@example.com",
        first_name="Sam",
        last_name="Lee",
        stage_id="stg_final",
        stage_entered_at=at[2],
        answers={licence.id: True},
        history=history,
        decisions=decisions,
        created_at=at[0],
        updated_at=at[4],
    )
    members = [
        Membership(
            id="mem_1",
            org_id="acme",
            user_id="usr_ann",
            email="ann@acme.test",
            role=Role.ADMIN,
            created_at=NOW,
            updated_at=NOW,
        )
    ]
    view = applicant_view(applicant, stages, [], members)

    assert [e.title for e in view.timeline] == [
        "Reopened",
        "Rejected: Not qualified",
        "In Final",
        "In Review",
        "In Screen",
    ]
    reopened, rejected, final, review, screen = view.timeline
    assert reopened.lines == ["By someone no longer in the organisation, in Final", "Was rejected"]
    assert rejected.lines == ["By ann@acme.test, in Final", "Note: No licence"]
    assert final.lines == ["Entered Final — by the idle sweeper (idle for 1 day in Review)", "Here now"]
    assert review.lines[0] == "Entered Review — by an answer rule of Screen (to Review)"
    assert screen.lines[0] == "Applied, entering Screen — by the applicant"
    assert view.full_name == "Sam Lee" and view.stage is not None and view.stage.name == "Final"
    assert [group.stage.name for group in view.answers_by_stage] == ["Screen"]
    assert view.answers_by_stage[0].answers[0].text == "Yes" and not view.answers_by_stage[0].is_current
    assert view.move_targets == [("stg_screen", "Screen"), ("stg_review", "Review")]


def test_the_storage_origin_is_where_the_adapter_signs_its_links(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on AWS: boto3 would sign for the endpoints the session's services exported otherwise. (Not
    # delenv: a settings read cached meanwhile would keep later tests from the services.)
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    for endpoint in ("http://127.0.0.1:5123", "https://minio.example.test:9000/", None):
        # As config.py reads them: no S3 endpoint means no AWS endpoint either (AWS itself).
        settings = dataclasses.replace(
            get_settings(),
            s3_endpoint_url=endpoint,
            aws_endpoint_url=endpoint,
            aws_region="eu-west-1",
            documents_bucket="plutomi-docs",
            s3_credentials=("AKIDEXAMPLE", "not-a-secret"),
        )
        monkeypatch.setattr(bootstrap, "get_settings", lambda settings=settings: settings)
        storage = S3Storage.of_settings(settings)
        link = storage.presigned_get(
            "orgs/a/applicants/apl_1/doc_1", "application/pdf", "inline", timedelta(minutes=5)
        )
        signed = urlsplit(link)
        assert storage_origin(settings) == f"{signed.scheme}://{signed.netloc}", link
