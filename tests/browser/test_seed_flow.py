"""The delivery-driver flow end to end in a browser, as two people in two browser contexts and the
emails between them: nothing here uses the JSON API or the store.

The recruiter signs in with the emailed code, creates the org and the application, builds it in the
builder and opens it. Sam applies from the careers page on a phone, opens the emailed link and
answers; the answer rule moves Sam to Waiting List. The recruiter drags Sam to Document Upload on
the board; Sam uploads the licence and the `is_present` rule moves Sam to Final Review, where the
recruiter sees the card, opens Sam's page and the licence's inline preview. Alex has no licence and
stays in the Questionnaire; the recruiter rejects Alex with a reason; Alex's portal says so and the
rejection email arrives, while Sam's portal shows Sam moved on to Final Review."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import unique_email, unique_org_id
from tests.support.browser import PHONE, People, Tab, sign_in
from tests.support.browser_flows import (
    LICENCE_QUESTION,
    LICENCE_UPLOAD,
    YEARS_QUESTION,
    answer_portal,
    apply_from_careers,
    board_card,
    board_column,
    build_delivery_driver_application,
    drag_to_stage,
    open_document_preview,
    reject_on_applicant_page,
    upload_file,
)
from tests.support.stack import portal_token, wait_for_email

APPLICATION = "Delivery drivers"
LICENCE_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def portal_says(tab: Tab, token: str, status: str, stage: str | None = None) -> None:
    page = tab.open(f"/portal/{token}")
    expect(page.locator(".badge")).to_have_text(status)
    if stage is not None:
        expect(page.locator(".current-step")).to_contain_text(stage)


def test_the_delivery_driver_flow_in_two_browsers(people: People, tmp_path: Path) -> None:
    recruiter = people.tab()
    page = sign_in(recruiter, unique_email("recruiter"))
    org_id = unique_org_id("drivers")
    page.get_by_label("Name").fill("Acme Deliveries")
    page.get_by_label("Address").fill(org_id)
    page.get_by_role("button", name="Create organisation").click()
    expect(page).to_have_url(f"{recruiter.base_url}/app/{org_id}")
    page.get_by_label("Name").fill(APPLICATION)
    page.get_by_role("button", name="Create application").click()
    page.wait_for_url(re.compile(rf"/app/{org_id}/applications/app_\w+$"))
    application_id = page.url.rsplit("/", 1)[1]
    build_delivery_driver_application(recruiter, org_id, application_id)
    recruiter.check("flow-builder")

    sam, alex = people.tab(PHONE), people.tab(PHONE)
    sam_email, alex_email = unique_email("sam"), unique_email("alex")
    apply_from_careers(sam, org_id, APPLICATION, sam_email, "Sam")
    sam.check("flow-applied")
    apply_from_careers(alex, org_id, APPLICATION, alex_email, "Alex")
    sam_token, alex_token = portal_token(sam_email), portal_token(alex_email)

    answer_portal(sam, sam_token, {LICENCE_QUESTION: True, YEARS_QUESTION: "3", "City": "Lisbon"})
    expect(sam.page.locator(".current-step")).to_contain_text("Waiting List")
    sam.check("flow-portal-waiting")
    answer_portal(alex, alex_token, {LICENCE_QUESTION: False, YEARS_QUESTION: "1", "City": "Porto"})
    expect(alex.page.locator(".current-step")).to_contain_text("Questionnaire")

    board = recruiter.open(f"/app/{org_id}/applications/{application_id}/board")
    expect(board_column(board, "Waiting List").get_by_role("link", name="Sam Applicant")).to_be_visible()
    expect(board_column(board, "Questionnaire").get_by_role("link", name="Alex Applicant")).to_be_visible()
    drag_to_stage(recruiter, "Sam Applicant", "Document Upload")
    expect(board.get_by_role("status")).to_contain_text("Sam Applicant moved to Document Upload")
    expect(board_column(board, "Document Upload").get_by_role("link", name="Sam Applicant")).to_be_visible()
    recruiter.check("flow-board")

    licence = tmp_path / "licence.pdf"
    licence.write_bytes(LICENCE_PDF + b"%" * 20_000)
    portal = sam.open(f"/portal/{sam_token}")
    expect(portal.locator(".current-step")).to_contain_text("Document Upload")
    field = upload_file(sam, LICENCE_UPLOAD, licence)
    expect(field.locator(".upload-status")).to_contain_text("Uploaded licence.pdf")
    sam.check("flow-portal-upload")
    portal.get_by_role("button", name="Save answers").click()
    expect(portal.locator(".current-step")).to_contain_text("Final Review")

    board = recruiter.open(f"/app/{org_id}/applications/{application_id}/board")
    final_review = board_column(board, "Final Review")
    expect(final_review.get_by_role("link", name="Sam Applicant")).to_be_visible()
    board_card(board, "Sam Applicant").get_by_role("link", name="Sam Applicant").click()
    board.wait_for_url(re.compile(rf"/app/{org_id}/applicants/apl_\w+$"))
    sam_id = board.url.rsplit("/", 1)[1]
    preview = open_document_preview(recruiter, org_id, sam_id)
    assert f"/orgs/{org_id}/applicants/{sam_id}/doc_" in preview.url  # the licence itself, from storage
    recruiter.check("flow-applicant")

    board = recruiter.open(f"/app/{org_id}/applications/{application_id}/board")
    board_card(board, "Alex Applicant").get_by_role("link", name="Alex Applicant").click()
    board.wait_for_url(re.compile(rf"/app/{org_id}/applicants/apl_\w+$"))
    alex_id = board.url.rsplit("/", 1)[1]
    reject_on_applicant_page(recruiter, org_id, alex_id, "Not qualified")
    recruiter.check("flow-rejected")

    wait_for_email(alex_email, subject_contains="Your application", after=1)  # the rejection, after the link
    portal_says(alex, alex_token, "Rejected")
    expect(alex.page.get_by_role("button", name="Save answers")).to_have_count(0)
    alex.check("flow-portal-rejected")
    portal_says(sam, sam_token, "Moved on", "Final Review")
