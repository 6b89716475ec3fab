"""Steps of the web app's flows as a person does them in the browser, shared by the browser tests
(each area's own tests, and the whole seed flow in tests/browser/test_seed_flow.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, expect

from tests.support.browser import Tab


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
