"""The applicant page in a browser: answers by stage, documents previewed inline from storage, the
timeline, moving, rejecting with the email and its preview, reopening, accepting, a stale decision's
409, every form's messages, erasing after a confirmation, and strangers' 404."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from plutomi.bootstrap import dependencies
from plutomi.domain.documents import ScanStatus
from plutomi.services import documents
from tests.conftest import unique_email, unique_org_id
from tests.support.browser import People, Tab, signed_in_tab
from tests.support.browser_flows import (
    applicant_page_path,
    open_document_preview,
    reject_on_applicant_page,
)
from tests.support.http import Api
from tests.support.stack import emails_to, portal_token, wait_for_email


def pdf_document(text: str) -> bytes:
    """A small, valid one-page PDF showing `text` (with the cross-reference table readers want)."""
    stream = f"BT /F1 28 Tf 72 700 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return body


def png_image(width: int = 160, height: int = 90) -> bytes:
    """A PNG of a blue band over white, drawn row by row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + (b"\x0b\x5c\xad" if height // 3 <= y < 2 * height // 3 else b"\xff\xff\xff") * width
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class Hiring:
    tab: Tab
    api: Api
    recruiter_email: str
    org_id: str
    application_id: str
    stages: dict[str, str]
    questions: dict[str, str]


@dataclass
class Person:
    applicant_id: str
    email: str
    token: str
    document_ids: list[str]


QUESTIONS: list[dict[str, Any]] = [
    {"type": "boolean", "title": "Do you hold a driving licence?"},
    {"type": "single_choice", "title": "Vehicle", "options": ["Van", "Bike"]},
    {"type": "multi_choice", "title": "Days you can work", "options": ["Mon", "Tue", "Sat"]},
    {"type": "date", "title": "Start date"},
    {"type": "number", "title": "Years driving"},
    {"type": "long_text", "title": "About you", "required": False},
    {
        "type": "file",
        "title": "Driving licence",
        "accepts": ["application/pdf", "image/png"],
        "multiple": True,
    },
]


@pytest.fixture
def hiring(people: People) -> Hiring:
    """A signed-in recruiter and an open application: Screen (one question of each kind shown
    here, no rules), Review and Final."""
    email = unique_email("recruiter")
    tab, api = signed_in_tab(people, email)
    org_id = unique_org_id("apl")
    assert api.post("/orgs", json={"id": org_id, "display_name": "Fast Vans"}).status_code == 201
    created = api.post(f"/orgs/{org_id}/applications", json={"name": "Delivery drivers"})
    application_id = created.json()["id"]
    base = f"/orgs/{org_id}/applications/{application_id}"
    for name in ("Screen", "Review", "Final"):
        assert api.post(f"{base}/stages", json={"name": name}).status_code == 201
    stages = {s["name"]: s["id"] for s in api.get(base).json()["stages"]}
    questions = {}
    for question in QUESTIONS:
        added = api.post(f"{base}/stages/{stages['Screen']}/questions", json=question)
        assert added.status_code == 201, added.text
        questions[question["title"]] = added.json()["questions"][-1]["id"]
    assert api.patch(base, json={"status": "open"}).status_code == 200
    return Hiring(tab, api, email, org_id, application_id, stages, questions)


def upload(public: Api, token: str, question_id: str, name: str, content_type: str, data: bytes) -> str:
    """Uploads a file as the portal does: ask, post it straight to storage; the document's id."""
    asked = public.post(
        f"/public/applicants/{token}/uploads",
        json={
            "question_id": question_id,
            "file_name": name,
            "content_type": content_type,
            "size_bytes": len(data),
        },
    )
    assert asked.status_code == 201, asked.text
    form = asked.json()["upload"]
    posted = httpx.post(form["url"], data=form["fields"], files={"file": (name, data)})
    assert posted.status_code in (200, 201, 204), posted.text
    return str(asked.json()["document_id"])


def applicant(hiring: Hiring, first_name: str, *, answer: bool = True) -> Person:
    """Applies as `first_name`, answers every question (a PDF and a PNG for the licence), and is
    moved by the recruiter from Screen to Review."""
    email = unique_email(first_name.lower())
    public = Api(hiring.tab.base_url)
    path = f"/public/orgs/{hiring.org_id}/applications/{hiring.application_id}/applicants"
    applied = public.post(path, json={"email": email, "first_name": first_name, "last_name": "Driver"})
    assert applied.status_code == 202, applied.text
    token = portal_token(email)
    applicant_id = token.split(".")[0]
    document_ids: list[str] = []
    if answer:
        asked = hiring.questions
        document_ids = [
            upload(
                public,
                token,
                asked["Driving licence"],
                "licence.pdf",
                "application/pdf",
                pdf_document("LICENCE"),
            ),
            upload(public, token, asked["Driving licence"], "licence-back.png", "image/png", png_image()),
        ]
        answers = {
            asked["Do you hold a driving licence?"]: True,
            asked["Vehicle"]: "Van",
            asked["Days you can work"]: ["Mon", "Sat"],
            asked["Start date"]: "2027-01-15",
            asked["Years driving"]: 7,
            asked["About you"]: "Careful driver.\nKnows the city.",
            asked["Driving licence"]: document_ids,
        }
        answered = public.post(f"/public/applicants/{token}/answers", json={"answers": answers})
        assert answered.status_code == 200, answered.text
        move = {"from_stage_id": hiring.stages["Screen"], "to_stage_id": hiring.stages["Review"]}
        moved = hiring.api.post(f"/orgs/{hiring.org_id}/applicants/{applicant_id}/move", json=move)
        assert moved.status_code == 200, moved.text
    return Person(applicant_id, email, token, document_ids)


def answer_of(page: Page, question: str) -> str:
    return (
        page.locator(".answers div")
        .filter(has=page.get_by_text(question, exact=True))
        .locator("dd")
        .inner_text()
        .strip()
    )


def test_the_page_shows_answers_by_stage_documents_previewed_inline_and_the_timeline(hiring: Hiring) -> None:
    ann = applicant(hiring, "Ann")
    page = hiring.tab.open(applicant_page_path(hiring.org_id, ann.applicant_id))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Driver")
    expect(page.locator(".applicant-head .badge")).to_have_text("Active")
    head = page.get_by_role("region", name="Ann Driver")
    expect(head.get_by_text(ann.email)).to_be_visible()
    expect(head.get_by_role("link", name="back to the board")).to_have_attribute(
        "href", f"/app/{hiring.org_id}/applications/{hiring.application_id}/board"
    )
    expect(head.locator("dd").nth(2)).to_have_text("Review")

    answers = page.get_by_role("region", name="Screen")
    expect(answers.get_by_role("heading", name="Screen")).to_be_visible()
    assert answer_of(page, "Do you hold a driving licence?") == "Yes"
    assert answer_of(page, "Vehicle") == "Van"
    assert answer_of(page, "Days you can work") == "Mon, Sat"
    assert answer_of(page, "Start date") == "15 January 2027"
    assert answer_of(page, "Years driving") == "7"
    assert answer_of(page, "About you") == "Careful driver.\nKnows the city."
    expect(answers.get_by_role("link", name="licence.pdf")).to_have_attribute(
        "href", f"#document-{ann.document_ids[0]}"
    )

    docs = page.get_by_role("region", name="Documents")
    expect(docs.get_by_role("heading", name="licence.pdf")).to_be_visible()
    expect(docs.get_by_text("PDF ·")).to_be_visible()
    expect(docs.get_by_text("Not scanned (no malware scanner is set up)").first).to_be_visible()
    frame = open_document_preview(hiring.tab, hiring.org_id, ann.applicant_id)
    # The frame came from storage (through the API's open route), not from our own origin.
    assert frame.url.startswith(dependencies().settings.s3_endpoint_url or "https://"), frame.url
    assert "X-Amz-Signature" in frame.url
    page = hiring.tab.page
    image = page.get_by_role("img", name="Preview of licence-back.png")
    expect(image).to_be_visible()
    page.wait_for_function(
        "(image) => image.complete && image.naturalWidth === 160", arg=image.element_handle()
    )

    history = page.get_by_role("region", name="History")
    entries = history.get_by_role("listitem")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("In Review")
    expect(entries.nth(0)).to_contain_text(f"Entered Review — by {hiring.recruiter_email}")
    expect(entries.nth(1)).to_contain_text("Applied, entering Screen — by the applicant")
    expect(entries.nth(1)).to_contain_text(f"— by {hiring.recruiter_email}")
    page.get_by_role("heading", name="licence.pdf").scroll_into_view_if_needed()
    hiring.tab.check("applicant-page")


def test_an_infected_document_is_not_previewed_and_says_why(hiring: Hiring) -> None:
    bo = applicant(hiring, "Bo")
    deps = dependencies()
    stored = deps.store.documents.get(hiring.org_id, bo.document_ids[0])
    assert stored is not None
    documents.record_scan_result(
        deps, deps.settings.documents_bucket, stored.key, ScanStatus.INFECTED, "EICAR-Test-File"
    )
    page = hiring.tab.open(applicant_page_path(hiring.org_id, bo.applicant_id))
    item = page.locator(f"#document-{bo.document_ids[0]}")
    expect(item.get_by_text("Not shown: the malware scanner found EICAR-Test-File in it.")).to_be_visible()
    expect(item.locator("iframe")).to_have_count(0)
    expect(item.get_by_role("link")).to_have_count(0)
    expect(page.get_by_role("img", name="Preview of licence-back.png")).to_be_visible()
    hiring.tab.check("applicant-document-infected")


def test_reject_with_a_reason_and_the_email_then_reopen_then_accept(hiring: Hiring) -> None:
    cy = applicant(hiring, "Cy", answer=False)
    page = hiring.tab.open(applicant_page_path(hiring.org_id, cy.applicant_id))
    reject = page.get_by_role("region", name="Reject")

    # No reason chosen, and a note that is too long: both messages, next to their fields.
    reject.get_by_label("Note for your team (optional)").fill("x" * 2001)
    reject.get_by_role("button", name="Reject").click()
    expect(page.locator("#reason_id-error")).to_have_text("Choose the reason for rejecting them")
    expect(page.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#reject_note-error")).to_contain_text("2000")
    reject = page.get_by_role("region", name="Reject")
    expect(reject.get_by_label("Note for your team (optional)")).to_have_value("x" * 2001)
    hiring.tab.check("applicant-reject-refused")

    # The preview shows the email the applicant would get.
    reject = page.get_by_role("region", name="Reject")
    reject.get_by_text("Preview the rejection email").click()
    preview = reject.locator(".email-preview")
    expect(preview).to_contain_text("Subject: Your application to Delivery drivers")
    expect(preview).to_contain_text("Hi Cy,")
    hiring.tab.check("applicant-reject-preview")

    seen = len(emails_to(cy.email, "Your application to Delivery drivers"))
    page = reject_on_applicant_page(hiring.tab, hiring.org_id, cy.applicant_id, "Not qualified")
    expect(page.locator(".applicant-head .badge")).to_have_text("Rejected")
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("listitem").first).to_contain_text("Rejected: Not qualified")
    expect(history.get_by_role("listitem").first).to_contain_text(f"By {hiring.recruiter_email}, in Screen")
    sent = wait_for_email(cy.email, subject_contains="Your application to Delivery drivers", after=seen)
    assert "Hi Cy," in sent.text and "not to go further" in sent.text
    hiring.tab.check("applicant-rejected")

    page.get_by_role("button", name="Reopen").click()
    expect(page.get_by_role("status").filter(has_text="Reopened")).to_be_visible()
    expect(page.locator(".applicant-head .badge")).to_have_text("Active")

    accept = page.get_by_role("region", name="Final decision")
    accept.get_by_label("Note for your team (optional)").fill("y" * 2001)
    accept.get_by_role("button", name="Accept (final decision)").click()
    expect(page.locator("#accept_note-error")).to_be_visible()
    hiring.tab.check("applicant-accept-refused")
    accept = page.get_by_role("region", name="Final decision")
    accept.get_by_label("Note for your team (optional)").fill("Starts Monday")
    accept.get_by_role("button", name="Accept (final decision)").click()
    expect(page.locator(".applicant-head .badge")).to_have_text("Accepted (final decision)")
    first = page.get_by_role("region", name="History").get_by_role("listitem").first
    expect(first).to_contain_text("Accepted (final decision)")
    expect(first).to_contain_text("Note: Starts Monday")
    expect(page.get_by_role("region", name="History")).to_contain_text("Reopened")
    hiring.tab.check("applicant-accepted")


def test_a_stale_decision_or_move_shows_what_happened_with_a_409(hiring: Hiring) -> None:
    di = applicant(hiring, "Di", answer=False)
    page = hiring.tab.open(applicant_page_path(hiring.org_id, di.applicant_id))

    # The move form's own message first.
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("#to_stage_id-error")).to_have_text("Choose a stage")
    hiring.tab.check("applicant-move-refused")

    # Another recruiter moves them meanwhile: this page's move names the stage they left.
    elsewhere = {"from_stage_id": hiring.stages["Screen"], "to_stage_id": hiring.stages["Final"]}
    assert (
        hiring.api.post(
            f"/orgs/{hiring.org_id}/applicants/{di.applicant_id}/move", json=elsewhere
        ).status_code
        == 200
    )
    page.get_by_label("Move to stage…").select_option(label="Review")
    with page.expect_response(lambda r: r.url.endswith("/move")) as moved:
        page.get_by_role("button", name="Move", exact=True).click()
    assert moved.value.status == 409
    expect(page.get_by_role("status").filter(has_text="That changed in the meantime")).to_be_visible()
    expect(page.locator(".applicant-head dd").nth(2)).to_have_text("Final")

    # Another recruiter rejects them meanwhile: this page's rejection is refused and says why.
    reasons = hiring.api.get(f"/orgs/{hiring.org_id}/rejection-reasons").json()["rejection_reasons"]
    other = {"reason_id": reasons[0]["id"], "send_email": False}
    assert (
        hiring.api.post(f"/orgs/{hiring.org_id}/applicants/{di.applicant_id}/reject", json=other).status_code
        == 200
    )
    reject = page.get_by_role("region", name="Reject")
    reject.get_by_label("Reason").select_option(label="Position filled")
    with page.expect_response(lambda r: r.url.endswith("/reject")) as refused:
        reject.get_by_role("button", name="Reject").click()
    assert refused.value.status == 409
    notice = page.get_by_role("status").filter(has_text="That changed in the meantime")
    expect(notice).to_contain_text("rejected")
    expect(page.locator(".applicant-head .badge")).to_have_text("Rejected")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    hiring.tab.check("applicant-stale-decision")
    decided = hiring.api.get(f"/orgs/{hiring.org_id}/applicants/{di.applicant_id}").json()["decisions"]
    assert [d["reason_label"] for d in decided] == [reasons[0]["label"]]


def test_erasing_asks_for_the_typed_word_then_goes_back_to_the_board(hiring: Hiring) -> None:
    ed = applicant(hiring, "Ed")
    page = hiring.tab.open(applicant_page_path(hiring.org_id, ed.applicant_id))
    page.get_by_role("link", name="Erase Ed Driver's data…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erase Ed Driver's data?")
    expect(page.get_by_text("2 documents they uploaded")).to_be_visible()
    hiring.tab.check("applicant-erase-confirm")

    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.get_by_label("Type erase to confirm").fill("delete")
    page.get_by_role("button", name="Erase their data").click()
    expect(page.locator("#confirm-error")).to_have_text("Type erase to confirm that their data goes for good")
    hiring.tab.check("applicant-erase-refused")
    assert hiring.api.get(f"/orgs/{hiring.org_id}/applicants/{ed.applicant_id}").status_code == 200

    page.get_by_label("Type erase to confirm").fill("erase")
    page.get_by_role("button", name="Erase their data").click()
    board = f"/app/{hiring.org_id}/applications/{hiring.application_id}/board?notice=applicant_erased"
    expect(page).to_have_url(f"{hiring.tab.base_url}{board}")
    assert asked == ["Erase Ed Driver's data for good?"] * 2
    assert hiring.api.get(f"/orgs/{hiring.org_id}/applicants/{ed.applicant_id}").status_code == 404
    opened = hiring.api.get(f"/orgs/{hiring.org_id}/documents/{ed.document_ids[0]}/open")
    assert opened.status_code == 404
    gone = hiring.tab.open(applicant_page_path(hiring.org_id, ed.applicant_id))
    expect(gone.get_by_text("applicant_not_found")).to_be_visible()


def test_without_javascript_the_confirm_page_is_the_confirmation(people: People, hiring: Hiring) -> None:
    fay = applicant(hiring, "Fay", answer=False)
    tab = people.tab(javascript=False)
    tab.context.add_cookies(  # the recruiter's session, in a browser without JavaScript
        [
            {"name": c["name"], "value": c["value"], "url": tab.base_url, "httpOnly": True, "secure": True}
            for c in hiring.tab.context.cookies()
        ]
    )
    page = tab.open(f"{applicant_page_path(hiring.org_id, fay.applicant_id)}/erase")
    page.get_by_label("Type erase to confirm").fill("ERASE")
    page.get_by_role("button", name="Erase their data").click()
    expect(page).to_have_url(
        f"{tab.base_url}/app/{hiring.org_id}/applications/{hiring.application_id}/board?notice=applicant_erased"
    )
    assert hiring.api.get(f"/orgs/{hiring.org_id}/applicants/{fay.applicant_id}").status_code == 404
