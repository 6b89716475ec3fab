"""Steps of the web app's flows as a person does them in the browser, shared by the browser tests
(each area's own tests, and the whole seed flow in tests/browser/test_seed_flow.py)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import Tab, sign_in


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
