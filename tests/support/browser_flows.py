"""Steps of the web app's flows as a person does them in the browser, shared by the browser tests
(each area's own tests, and the whole seed flow in tests/browser/test_seed_flow.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Frame, Locator, Page, expect

from tests.support.browser import Tab, sign_in


def applicant_page_path(org_id: str, applicant_id: str) -> str:
    return f"/app/{org_id}/applicants/{applicant_id}"


def reject_on_applicant_page(tab: Tab, org_id: str, applicant_id: str, reason_label: str) -> Page:
    """Opens the applicant page and rejects them with `reason_label` (the rejection email is sent)."""
    page = tab.open(applicant_page_path(org_id, applicant_id))
    decide = page.get_by_role("region", name="Reject")
    decide.get_by_label("Reason").select_option(label=reason_label)
    expect(decide.get_by_label("Send the rejection email")).to_be_checked()
    decide.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status").filter(has_text="Rejected.")).to_be_visible()
    return page


def open_document_preview(tab: Tab, org_id: str, applicant_id: str) -> Page | Frame:
    """Opens the applicant page and returns the first document's inline preview once it has loaded:
    the frame showing a PDF, or the page when the first preview is an image (loaded and drawn)."""
    page = tab.open(applicant_page_path(org_id, applicant_id))
    preview = page.get_by_role("region", name="Documents").locator("iframe, img").first
    expect(preview).to_be_visible()
    if preview.evaluate("(element) => element.tagName") == "IMG":
        page.wait_for_function(
            "(image) => image.complete && image.naturalWidth > 0", arg=preview.element_handle()
        )
        return page
    frame = preview.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    return frame


def invite_and_accept(owner_tab: Tab, invitee_tab: Tab, org_id: str, email: str, role: str) -> None:
    """The owner invites `email` as `role` from the team page; the invitee (a tab of their own, not
    signed in) opens /invitations, signs in, comes back and accepts, landing in the org."""
    page = owner_tab.open(f"/app/{org_id}/team")
    form = page.locator("form[action$='/team/invites']")
    form.get_by_label("Email address").fill(email)
    form.get_by_label("Role").select_option(role)
    form.get_by_role("button", name="Send invite").click()
    expect(page.locator(".team-invites")).to_contain_text(email)

    invited = sign_in(invitee_tab, email, start="/invitations")
    expect(invited).to_have_url(f"{invitee_tab.base_url}/invitations")
    invited.get_by_role("button", name="Accept").first.click()
    expect(invited).to_have_url(f"{invitee_tab.base_url}/app/{org_id}")


DELIVERY_STAGES = ("Questionnaire", "Waiting List", "Document Upload", "Final Review")
LICENCE_QUESTION = "Do you hold a driving licence?"
YEARS_QUESTION = "Years of driving"
LICENCE_UPLOAD = "Driving licence"


def create_application_via_api(tab: Tab, org_id: str, name: str = "Delivery drivers") -> str:
    """A draft application made through the JSON API with the tab's own session (Playwright's request
    context shares the tab's cookies; the API wants our Origin on cookie requests)."""
    created = tab.page.request.post(
        f"{tab.base_url}/orgs/{org_id}/applications",
        data={"name": name, "description": "Vans around town"},
        headers={"Origin": tab.base_url},
    )
    assert created.status == 201, created.text()
    return str(created.json()["id"])


def open_stage(page: Page, name: str) -> None:
    page.locator("[data-stage-list]").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=2, name=f": {name}")).to_be_visible()


def add_stage(page: Page, name: str) -> None:
    page.get_by_label("New stage").fill(name)
    page.get_by_role("button", name="Add stage").click()
    expect(page.get_by_role("heading", level=2, name=f": {name}")).to_be_visible()


def question_form(page: Page) -> Locator:
    return page.locator("#question-form")


def add_question(page: Page, kind: str, title: str, *, required: bool = True, **settings: object) -> None:
    """Adds a question of `kind` (its label in the type list) to the open stage. settings: options
    (list of str), accepts (file type labels), max_size_mb (str)."""
    form = question_form(page)
    form.get_by_label("Type of answer").select_option(label=kind)
    form.get_by_role("textbox", name="Question", exact=True).fill(title)
    form.get_by_label("Required", exact=False).set_checked(required)
    options = settings.get("options")
    if isinstance(options, list):
        form.get_by_label("Options, one per line").fill("\n".join(options))
    accepts = settings.get("accepts")
    if isinstance(accepts, list):
        for label in accepts:
            form.get_by_label(str(label), exact=True).check()
    if "max_size_mb" in settings:
        form.get_by_label("Largest file, in MB").fill(str(settings["max_size_mb"]))
    form.get_by_role("button", name="Add question").click()
    expect(page.locator("#questions + .builder-items strong").get_by_text(title, exact=True)).to_be_visible()


def fill_condition(page: Page, number: int, question: str, test: str, value: str = "") -> None:
    condition = page.locator("#answer-rule-form").get_by_role("group", name=f"Condition {number}")
    condition.get_by_label("Question").select_option(label=question)
    condition.get_by_label("Test").select_option(label=test)
    if value:
        condition.get_by_label("Value").fill(value)


def add_answer_rule(
    page: Page, conditions: list[tuple[str, str, str]], to_stage: str, match: str = "All of them"
) -> None:
    form = page.locator("#answer-rule-form")
    form.get_by_label("Which conditions must hold").select_option(label=match)
    for number, (question, test, value) in enumerate(conditions, start=1):
        if number > len(form.get_by_role("group").all()):
            form.get_by_role("button", name="Add another condition").click()
            form = page.locator("#answer-rule-form")
        fill_condition(page, number, question, test, value)
    form.get_by_label("Then move to").select_option(label=to_stage)
    form.get_by_role("button", name="Add answer rule").click()
    expect(page.locator("#answer-rule-form")).to_be_visible()


def add_idle_rule(page: Page, amount: str, unit: str, to_stage: str) -> None:
    form = page.locator("#idle-rule-form")
    form.get_by_label("After").fill(amount)
    form.get_by_label("Unit").select_option(label=unit)
    form.get_by_label("Move to", exact=True).select_option(label=to_stage)
    form.get_by_role("button", name="Add idle rule").click()


def build_delivery_driver_application(tab: Tab, org_id: str, application_id: str | None = None) -> str:
    """Designs the delivery-driver application in the builder, as a recruiter does, and opens it.

    Contract: `tab` is signed in as an admin or owner of `org_id`. `application_id` is a draft with
    no stages (e.g. made with the /app/{org_id} form); without one, a draft "Delivery drivers" is
    created through the JSON API with the tab's session. Afterwards the application is open with
    the stages Questionnaire -> Waiting List -> Document Upload -> Final Review:
    - Questionnaire asks LICENCE_QUESTION (yes or no), YEARS_QUESTION (a number), "City" (Lisbon or
      Porto) and an optional "Contact email"; answering the licence true and 2 or more years moves
      the applicant to Waiting List, and so does waiting 30 days without completing it;
    - Document Upload asks for LICENCE_UPLOAD (a PDF or JPEG file); uploading it moves the
      applicant to Final Review.
    The tab is left on the builder page. Returns the application's id."""
    application_id = application_id or create_application_via_api(tab, org_id)
    page = tab.open(f"/app/{org_id}/applications/{application_id}")
    for name in DELIVERY_STAGES:
        add_stage(page, name)
    open_stage(page, "Questionnaire")
    add_question(page, "Yes or no", LICENCE_QUESTION)
    add_question(page, "Number", YEARS_QUESTION)
    add_question(page, "Single choice", "City", options=["Lisbon", "Porto"])
    add_question(page, "Email", "Contact email", required=False)
    add_answer_rule(
        page, [(LICENCE_QUESTION, "is true", ""), (YEARS_QUESTION, "is at least", "2")], "Waiting List"
    )
    add_idle_rule(page, "30", "days", "Waiting List")
    rules = page.locator("#rules + .hint + .builder-items")
    expect(rules).to_contain_text(
        f"When '{LICENCE_QUESTION}' is true and '{YEARS_QUESTION}' is at least 2, move to Waiting List"
    )
    expect(rules).to_contain_text("After 30 days without completing this stage, move to Waiting List")
    open_stage(page, "Document Upload")
    add_question(page, "File", LICENCE_UPLOAD, accepts=["PDF", "JPEG image"])
    add_answer_rule(page, [(LICENCE_UPLOAD, "is answered (for a file: uploaded)", "")], "Final Review")
    expect(page.locator("#rules + .hint + .builder-items")).to_contain_text(
        f"When '{LICENCE_UPLOAD}' is uploaded, move to Final Review"
    )
    page.get_by_role("button", name="Open to applicants").click()
    expect(page.get_by_role("link", name="Careers page")).to_be_visible()
    return application_id


def label_of(title: str) -> re.Pattern[str]:
    """A control's label exactly, with or without the required marker (`*`) after it."""
    return re.compile(rf"^{re.escape(title)}( \*)?$")


def apply_from_careers(tab: Tab, org_id: str, application_name: str, email: str, first_name: str) -> None:
    """From the org's careers page: open the application, fill the apply form, see "Check your email"."""
    page = tab.open(f"/careers/{org_id}")
    page.get_by_role("link", name=application_name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(application_name)
    page.get_by_label("First name").fill(first_name)
    page.get_by_label("Last name").fill("Applicant")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def answer_portal(tab: Tab, token: str, answers: dict[str, Any]) -> None:
    """Opens the portal and answers by question title, then saves: a bool picks Yes or No, a list
    ticks those options, a str picks that option of a choice question or is typed into the field.
    The caller checks what the page says next (moved on, or the messages next to the fields)."""
    page = tab.open(f"/portal/{token}")
    for title, answer in answers.items():
        group = page.get_by_role("group", name=title, exact=True)
        if isinstance(answer, bool):
            group.get_by_label("Yes" if answer else "No", exact=True).check()
        elif isinstance(answer, list):
            for box in group.get_by_role("checkbox").all():
                box.set_checked(box.get_attribute("value") in answer)
        elif group.count():
            group.get_by_label(answer, exact=True).check()
        else:
            page.get_by_label(label_of(title)).fill(answer)
    page.get_by_role("button", name="Save answers").click()


def upload_file(tab: Tab, question_label: str, path: Path) -> Locator:
    """Chooses `path` for the file question and waits until it is uploaded or refused; returns the
    question's field (its status line says "Uploaded ...", or its error says why not)."""
    picker = tab.page.get_by_label(label_of(question_label))
    field = tab.page.locator("[data-upload]").filter(has=picker)
    picker.set_input_files(str(path))
    expect(field.locator(".upload-status:has-text('Uploaded'), .field-error").first).to_be_visible()
    return field


def board_column(page: Page, stage_name: str) -> Locator:
    """A column of the pipeline board, by its stage's name."""
    return page.locator(".board-column").filter(has=page.locator(".column-name", has_text=stage_name))


def board_card(page: Page, applicant_name: str) -> Locator:
    """An applicant's card on the pipeline board, by the name on it."""
    return page.locator(".board-card").filter(has=page.get_by_role("link", name=applicant_name, exact=True))


def drag_to_stage(tab: Tab, applicant_name: str, stage_name: str) -> None:
    """Drags the applicant's card on the open board into the stage's column (HTML5 drag and drop, as
    a mouse does); the board then refreshes in place."""
    page = tab.page
    board_card(page, applicant_name).drag_to(board_column(page, stage_name))
