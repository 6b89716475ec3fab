"""What applicants see, in a browser: the careers page, applying, and the portal from the emailed
link: every question type, answers refused then accepted, a rule moving them on, uploads straight to
the local S3 (a real PDF, a PNG renamed .pdf, a file too big), withdrawing, answering with
JavaScript off, and a 375-pixel phone."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from plutomi.domain.limits import APPLIES_PER_ADDRESS
from tests.conftest import unique_email, unique_org_id
from tests.support.browser import PHONE, People, Tab
from tests.support.browser_flows import answer_portal, apply_from_careers, label_of, upload_file
from tests.support.http import Api, sign_in
from tests.support.stack import RunningStack, portal_token

LICENCE_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n" + b"%" * 40_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
LICENCE_LIMIT = 100_000
ABOUT_YOU: list[dict[str, Any]] = [
    {"type": "text", "title": "Name on your licence"},
    {"type": "long_text", "title": "Why do you want to drive with us?", "help_text": "A few lines"},
    {"type": "number", "title": "Years of driving"},
    {"type": "boolean", "title": "Do you hold a driving licence?"},
    {"type": "email", "title": "Contact email", "required": False},
    {"type": "url", "title": "Profile link", "required": False},
    {"type": "date", "title": "Earliest start date"},
    {"type": "single_choice", "title": "City", "options": ["Lisbon", "Porto"]},
    {"type": "multi_choice", "title": "Vehicles you can drive", "options": ["Van", "Car", "Bike"]},
    {"type": "file", "title": "CV", "required": False, "accepts": ["application/pdf"]},
]
GOOD_ANSWERS = {
    "Name on your licence": "Ana Lopes",
    "Why do you want to drive with us?": "I like vans.\nAnd people.",
    "Years of driving": "3",
    "Do you hold a driving licence?": True,
    "Contact email": "ana@example.com",
    "Profile link": "https://example.com/ana",
    "Earliest start date": "2027-01-15",
    "City": "Porto",
    "Vehicles you can drive": ["Van", "Bike"],
}


@dataclass(frozen=True)
class Drivers:
    org_id: str
    application_id: str
    base_url: str

    def applicant(self, label: str) -> tuple[str, str]:
        """A new applicant (applied through the API), and their portal token from the email."""
        email = unique_email(label)
        applied = Api(self.base_url).post(
            f"/public/orgs/{self.org_id}/applications/{self.application_id}/applicants",
            json={"email": email, "first_name": label.title(), "last_name": "Tester"},
        )
        assert applied.status_code == 202, applied.text
        return email, portal_token(email)


@pytest.fixture(scope="module")
def drivers(stack: RunningStack) -> Drivers:
    """An org with an open application: About you (one question of every type; years >= 2 and a
    licence move you on) -> Licence (a PDF up to 100 KB; uploading it moves you on) -> Final
    Review; and a draft application that the careers page must not list."""
    recruiter = sign_in(stack.base_url, unique_email("careers-recruiter"))
    org_id = unique_org_id("careers")
    assert recruiter.post("/orgs", json={"id": org_id, "display_name": "Fast Vans"}).status_code == 201
    created = recruiter.post(
        f"/orgs/{org_id}/applications", json={"name": "Delivery drivers", "description": "Vans around town."}
    )
    app_id = created.json()["id"]
    base = f"/orgs/{org_id}/applications/{app_id}"
    stages = {}
    for name in ("About you", "Licence", "Final Review"):
        added = recruiter.post(f"{base}/stages", json={"name": name})
        assert added.status_code == 201, added.text
        stages[name] = added.json()["stages"][-1]["id"]
    questions = {}
    licence_question = {
        "type": "file",
        "title": "Driving licence",
        "accepts": ["application/pdf"],
        "max_size_bytes": LICENCE_LIMIT,
    }
    for stage, body in [*(("About you", q) for q in ABOUT_YOU), ("Licence", licence_question)]:
        added = recruiter.post(f"{base}/stages/{stages[stage]}/questions", json=body)
        assert added.status_code == 201, added.text
        questions[body["title"]] = added.json()["questions"][-1]["id"]
    rules = [
        (
            "About you",
            {
                "kind": "answer",
                "to_stage_id": stages["Licence"],
                "conditions": [
                    {"question_id": questions["Do you hold a driving licence?"], "operator": "is_true"},
                    {"question_id": questions["Years of driving"], "operator": "gte", "value": 2},
                ],
            },
        ),
        (
            "Licence",
            {
                "kind": "answer",
                "to_stage_id": stages["Final Review"],
                "conditions": [{"question_id": questions["Driving licence"], "operator": "is_present"}],
            },
        ),
    ]
    for stage, rule in rules:
        added = recruiter.post(f"{base}/stages/{stages[stage]}/rules", json={"rule": rule})
        assert added.status_code == 201, added.text
    assert recruiter.patch(base, json={"status": "open"}).status_code == 200
    assert recruiter.post(f"/orgs/{org_id}/applications", json={"name": "Secret plans"}).status_code == 201
    return Drivers(org_id, app_id, stack.base_url)


def assert_fits_a_phone(page: Page, name: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width}px wide on a {PHONE['width']}px phone"


def moved_to(page: Page, stage: str) -> None:
    expect(page.locator(".current-step")).to_contain_text(stage)


def test_the_careers_page_lists_open_applications_and_applying_shows_errors_then_the_email(
    people: People, drivers: Drivers
) -> None:
    tab = people.tab()
    page = tab.open(f"/careers/{drivers.org_id}")
    expect(page.get_by_role("heading", name="Careers at Fast Vans")).to_be_visible()
    expect(page.get_by_role("link", name="Delivery drivers")).to_be_visible()
    expect(page.get_by_text("Vans around town.")).to_be_visible()
    expect(page.get_by_role("link", name="Secret plans")).to_have_count(0)
    tab.check("careers")

    page.get_by_role("link", name="Delivery drivers").click()
    tab.check("careers-apply")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("First name")).to_have_value("Ana")
    tab.check("careers-apply-refused")

    email = unique_email("ana")
    apply_from_careers(tab, drivers.org_id, "Delivery drivers", email, "Ana")
    tab.check("careers-applied")
    token = portal_token(email)
    page = tab.open(f"/portal/{token}")
    expect(page.get_by_role("heading", name="Hi Ana")).to_be_visible()


def test_a_closed_or_unknown_application_is_a_clear_404_and_too_many_applies_a_429(
    people: People, drivers: Drivers
) -> None:
    tab = people.tab(javascript=False)
    answer = tab.page.goto(f"{tab.base_url}/careers/{drivers.org_id}/app_00000000000000000000000000")
    assert answer is not None and answer.status == 404
    expect(tab.page.get_by_role("heading", name="We couldn't find that")).to_be_visible()
    expect(tab.page.get_by_text("No open application here")).to_be_visible()
    tab.check("careers-closed")
    answer = tab.page.goto(f"{tab.base_url}/careers/no-such-org-{unique_org_id('x')}")
    assert answer is not None and answer.status == 404

    email = unique_email("eager")
    apply = f"/public/orgs/{drivers.org_id}/applications/{drivers.application_id}/applicants"
    for _ in range(APPLIES_PER_ADDRESS.count):
        body = {"email": email, "first_name": "Eager", "last_name": "Person"}
        assert Api(drivers.base_url).post(apply, json=body).status_code == 202
    page = tab.open(f"/careers/{drivers.org_id}/{drivers.application_id}")
    page.get_by_label("Email address").fill(email)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Apply").click()
    assert posted.value.status == 429 and posted.value.headers.get("retry-after")
    expect(page.locator(".notice-danger")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value(email)


def test_the_portal_shows_every_question_type_refuses_then_accepts_and_a_rule_moves_them(
    people: People, drivers: Drivers
) -> None:
    _, token = drivers.applicant("bea")
    tab = people.tab()
    page = tab.open(f"/portal/{token}")
    expect(page.locator(".badge")).to_have_text("In review")
    moved_to(page, "About you")
    for question in ABOUT_YOU:
        title = str(question["title"])
        if question["type"] in {"boolean", "single_choice", "multi_choice"}:
            expect(page.get_by_role("group", name=title)).to_be_visible()
        else:
            expect(page.get_by_label(label_of(title))).to_be_visible()
    tab.check("portal-every-question-type")

    answer_portal(
        tab,
        token,
        {**GOOD_ANSWERS, "Years of driving": "many", "Contact email": "nope", "Earliest start date": ""},
    )
    expect(page.get_by_text("Years of driving must be a number").first).to_be_visible()
    expect(page.get_by_label(label_of("Years of driving"))).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Contact email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Earliest start date is required").first).to_be_visible()
    expect(page.get_by_label("Name on your licence")).to_have_value("Ana Lopes")  # kept, not saved
    expect(page.get_by_role("group", name="Vehicles you can drive").get_by_label("Bike")).to_be_checked()
    tab.check("portal-answers-refused")

    answer_portal(tab, token, GOOD_ANSWERS)
    expect(page.get_by_text("your answers are saved")).to_be_visible()
    expect(page.locator(".badge")).to_have_text("Moved on")
    moved_to(page, "Licence")
    expect(page.get_by_label(label_of("Driving licence"))).to_be_visible()
    tab.check("portal-moved-on")


def test_uploads_go_straight_to_storage_and_bad_files_are_refused(
    people: People, drivers: Drivers, tmp_path: Path
) -> None:
    _, token = drivers.applicant("cleo")
    tab = people.tab()
    answer_portal(tab, token, GOOD_ANSWERS)
    page = tab.page
    moved_to(page, "Licence")
    asked: list[Request] = []
    page.on("request", lambda request: asked.append(request) if "/uploads" in request.url else None)

    too_big = tmp_path / "big-licence.pdf"
    too_big.write_bytes(LICENCE_PDF + b"%" * LICENCE_LIMIT)
    field = upload_file(tab, "Driving licence", too_big)
    expect(field.locator(".field-error")).to_contain_text("the limit is")
    expect(page.get_by_label(label_of("Driving licence"))).to_have_attribute("aria-invalid", "true")
    assert asked == [], "a file over the limit is refused before anything is sent"
    tab.check("portal-upload-too-big")

    renamed = tmp_path / "licence-photo.pdf"
    renamed.write_bytes(PNG)
    field = upload_file(tab, "Driving licence", renamed)
    expect(field.locator(".upload-status")).to_contain_text("Uploaded licence-photo.pdf")
    page.get_by_role("button", name="Save answers").click()
    expect(page.locator("#" + _question_id(page, "Driving licence") + "-error")).to_contain_text(
        "licence-photo.pdf is not a PDF"
    )
    moved_to(page, "Licence")
    tab.check("portal-upload-renamed-png")

    licence = tmp_path / "licence.pdf"
    licence.write_bytes(LICENCE_PDF)
    page.evaluate(
        """() => {
            window.uploadStatuses = [];
            const status = document.querySelector("[data-upload] .upload-status");
            new MutationObserver(() => window.uploadStatuses.push(status.textContent))
                .observe(status, {childList: true, characterData: true, subtree: true});
        }"""
    )
    field = upload_file(tab, "Driving licence", licence)
    expect(field.locator(".upload-status")).to_have_text(
        "Uploaded licence.pdf. Save your answers to send it."
    )
    statuses = page.evaluate("() => window.uploadStatuses")
    assert "Uploading licence.pdf: 100%" in statuses, statuses
    assert field.locator("progress").evaluate("bar => bar.value") == 100
    tab.check("portal-uploaded")
    page.get_by_role("button", name="Save answers").click()
    moved_to(page, "Final Review")
    expect(page.get_by_role("button", name="Save answers")).to_have_count(0)
    tab.check("portal-final-review")


def test_withdrawing_asks_first_then_the_portal_says_so(people: People, drivers: Drivers) -> None:
    _, token = drivers.applicant("dora")
    tab = people.tab()
    page = tab.open(f"/portal/{token}")
    page.get_by_role("link", name="Withdraw my application").click()
    expect(page.get_by_role("heading", name="Withdraw your application?")).to_be_visible()
    tab.check("portal-withdraw-confirm")
    page.get_by_role("link", name="No, keep my application").click()
    expect(page.locator(".badge")).to_have_text("In review")
    page.get_by_role("link", name="Withdraw my application").click()
    page.get_by_role("button", name="Yes, withdraw").click()
    expect(page.locator(".badge")).to_have_text("Withdrawn")
    expect(page.get_by_role("button", name="Save answers")).to_have_count(0)
    expect(page.get_by_role("link", name="Withdraw my application")).to_have_count(0)
    tab.check("portal-withdrawn")
    page = tab.open(f"/portal/{token}/withdraw")  # an old tab's link: nothing left to withdraw
    expect(page).to_have_url(f"{tab.base_url}/portal/{token}")
    expect(page.locator(".badge")).to_have_text("Withdrawn")


def test_answering_works_without_javascript(
    people: People, drivers: Drivers, caplog: pytest.LogCaptureFixture
) -> None:
    _, token = drivers.applicant("eve")
    caplog.set_level(logging.INFO)
    tab = people.tab(javascript=False)
    answer_portal(tab, token, {**GOOD_ANSWERS, "Years of driving": "1.5.2"})
    page = tab.page
    expect(page.get_by_text("Years of driving must be a number").first).to_be_visible()
    tab.check("portal-no-js-refused")
    answer_portal(tab, token, GOOD_ANSWERS)
    moved_to(page, "Licence")
    expect(page.get_by_text("Uploading a file needs JavaScript")).to_be_visible()
    tab.check("portal-no-js-moved-on")
    # The path is a credential: the gateway logs the route template, never the token.
    logged = [record.__dict__ for record in caplog.records]
    assert any(line.get("route") == "/portal/{token}" for line in logged), "the portal's requests are logged"
    secret = token.split(".", 1)[1]
    assert not [line for line in logged if secret in repr(line)], "the portal token was logged"


def test_careers_apply_and_portal_fit_a_phone(people: People, drivers: Drivers) -> None:
    _, token = drivers.applicant("fay")
    tab: Tab = people.tab(PHONE)
    for path, name in [
        (f"/careers/{drivers.org_id}", "careers-phone"),
        (f"/careers/{drivers.org_id}/{drivers.application_id}", "careers-apply-phone"),
        (f"/portal/{token}", "portal-phone"),
    ]:
        page = tab.open(path)
        assert_fits_a_phone(page, path)
        tab.check(name)
    answer_portal(tab, token, {**GOOD_ANSWERS, "Years of driving": "many"})
    assert_fits_a_phone(tab.page, "the refused portal form")
    tab.check("portal-refused-phone")


def _question_id(page: Page, label: str) -> str:
    found = page.get_by_label(label_of(label)).get_attribute("id")
    assert found is not None
    return found
