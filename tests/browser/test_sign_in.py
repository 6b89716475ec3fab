"""Signing in and out in a browser, with JavaScript and without, and what a person sees when it fails."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import unique_email, unique_org_id
from tests.support.browser import PHONE, People, sign_in, signed_in_tab


def test_sign_in_with_the_emailed_code_then_out(people: People) -> None:
    tab = people.tab()
    page = tab.open("/")
    expect(page).to_have_url(f"{tab.base_url}/sign-in")
    tab.check("sign-in")
    page = sign_in(tab, unique_email("recruiter"))
    expect(page).to_have_url(f"{tab.base_url}/app")
    expect(page.get_by_role("heading", name="Your organisations")).to_be_visible()
    tab.check("orgs-empty")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{tab.base_url}/sign-in")
    page.goto(f"{tab.base_url}/app")
    expect(page).to_have_url(f"{tab.base_url}/sign-in?next=%2Fapp")


def test_sign_in_errors_are_shown_next_to_the_field(people: People) -> None:
    tab = people.tab(javascript=False)
    page = tab.open("/sign-in")
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_role("button", name="Email me a code").click()
    email_error = page.locator("#email-error")
    expect(email_error).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    tab.check("sign-in-bad-email")

    page.get_by_label("Email address").fill(unique_email("typo"))
    page.get_by_role("button", name="Email me a code").click()
    page.get_by_label("Code from the email").fill("ZZZZZZ")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#code-error")).to_contain_text("code")
    tab.check("sign-in-wrong-code")


def test_sign_in_comes_back_to_the_page_asked_for_and_fits_a_phone(people: People) -> None:
    tab = people.tab(PHONE)
    page = tab.open("/app")
    expect(page).to_have_url(f"{tab.base_url}/sign-in?next=%2Fapp")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the sign-in page is {width}px wide on a 375px phone"
    tab.check("sign-in-phone")


def test_a_signed_in_tab_creates_an_org_and_sees_the_form_refuse_a_taken_address(people: People) -> None:
    tab, _ = signed_in_tab(people, unique_email("founder"))
    page = tab.open("/app")
    org_id = unique_org_id("web")
    page.get_by_label("Name").fill("Acme Deliveries")
    page.get_by_label("Address").fill("Not Valid!")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator("#id-error")).to_be_visible()
    tab.check("orgs-refused")
    page.get_by_label("Address").fill(org_id)
    page.get_by_role("button", name="Create organisation").click()
    expect(page).to_have_url(f"{tab.base_url}/app/{org_id}")
