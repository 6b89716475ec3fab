"""Steps of the web app's flows as a person does them in the browser, shared by the browser tests
(each area's own tests, and the whole seed flow in tests/browser/test_seed_flow.py)."""

from __future__ import annotations

from playwright.sync_api import Frame, Page, expect

from tests.support.browser import Tab


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


from tests.support.browser import sign_in


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
