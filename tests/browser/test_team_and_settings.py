"""Team, invitations and settings in a browser: inviting and accepting in two contexts, roles,
leaving; webhooks (the secret once, the refused URL, the delivery log); rejection reasons; email
templates with preview and a refused placeholder; the sending-health page."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Locator, expect

from plutomi import bootstrap
from plutomi.adapters.mongo_base import to_document, where
from tests.conftest import unique_email, unique_org_id
from tests.integration import test_webhooks
from tests.integration.test_webhooks import Receiver
from tests.support.browser import People, Tab, signed_in_tab
from tests.support.browser_flows import invite_and_accept
from tests.support.http import Api

# The webhook receiver of the webhooks tests (a real HTTP server on loopback, which tests may use).
receiver = test_webhooks.receiver


def _org(api: Api, label: str) -> str:
    org_id = unique_org_id(label)
    assert api.post("/orgs", json={"id": org_id, "display_name": "Acme Deliveries"}).status_code == 201
    return org_id


def _member_row(tab: Tab, email: str) -> Locator:
    return tab.page.get_by_role("row").filter(has_text=email)


def test_invite_accept_change_role_and_leave(people: People) -> None:
    owner, api = signed_in_tab(people, unique_email("owner"))
    org_id = _org(api, "team")
    page = owner.open(f"/app/{org_id}/team")
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    owner.check("team")

    # Every field of the invite form refuses what it must, next to the field.
    page.get_by_label("Email address").fill("not an email")
    page.get_by_role("button", name="Send invite").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    owner.check("team-invite-refused")

    invitee_email = unique_email("invitee")
    invitee = people.tab()
    invite_and_accept(owner, invitee, org_id, invitee_email, "member")

    page = owner.open(f"/app/{org_id}/team")
    expect(_member_row(owner, invitee_email).get_by_label(f"Role of {invitee_email}")).to_have_value("member")
    _member_row(owner, invitee_email).get_by_label(f"Role of {invitee_email}").select_option("admin")
    _member_row(owner, invitee_email).get_by_role("button", name="Change role").click()
    expect(_member_row(owner, invitee_email).get_by_label(f"Role of {invitee_email}")).to_have_value("admin")

    # The last owner may not leave: the service's 409 message is on the page.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Leave this organisation").click()
    expect(page.locator(".notice")).to_contain_text("at least one owner")
    owner.check("team-last-owner-refused")

    # The invitee, now an admin, leaves.
    invited = invitee.open(f"/app/{org_id}/team")
    invited.once("dialog", lambda dialog: dialog.accept())
    invited.get_by_role("button", name="Leave this organisation").click()
    expect(invited).to_have_url(f"{invitee.base_url}/app")
    invitee.open(f"/app/{org_id}/team")
    expect(invited.get_by_role("heading", name="We couldn't find that")).to_be_visible()


def test_an_expired_invite_shows_why_and_declining_works(people: People) -> None:
    owner_email = unique_email("owner")
    owner_api = signed_in_tab(people, owner_email)[1]
    org_id = _org(owner_api, "expiry")
    email = unique_email("late")
    expiring = owner_api.post(f"/orgs/{org_id}/invites", json={"email": email}).json()
    other_org = _org(owner_api, "other")
    owner_api.post(f"/orgs/{other_org}/invites", json={"email": email})
    invitee, _ = signed_in_tab(people, email)
    page = invitee.open("/invitations")
    expect(page.get_by_role("listitem").filter(has_text="Accept")).to_have_count(2)
    expect(page.get_by_text(f"as member, invited by {owner_email}").first).to_be_visible()
    invitee.check("invitations")

    # It expires while the page is open.
    deps = bootstrap.dependencies()
    invite = deps.store.invites.get(org_id, expiring["id"])
    assert invite is not None
    past = invite.model_copy(update={"expires_at": invite.created_at - timedelta(minutes=1)})
    replaced = deps.store.items.replace_one(
        where(_id=invite.id), to_document(past, unique_key=f"invite:{org_id}:{email}")
    )
    assert replaced.modified_count == 1
    page.get_by_role("button", name="Accept").first.click()
    expect(page.locator(".notice")).to_contain_text("expired")
    invitee.check("invitation-expired")

    page.get_by_role("button", name="Decline").first.click()
    expect(page.get_by_text("No invitations are waiting for you")).to_be_visible()


def test_webhook_secret_once_refused_url_and_delivery_log(people: People, receiver: Receiver) -> None:
    tab, api = signed_in_tab(people, unique_email("hooks"))
    org_id = _org(api, "hooks")
    page = tab.open(f"/app/{org_id}/settings")
    tab.check("settings")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    tab.check("webhooks-empty")

    page.get_by_label("Endpoint URL").fill("https://10.0.0.7/hook")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.locator("#url-error")).to_contain_text("public")
    page.get_by_label("Every event").uncheck()
    page.get_by_label("Endpoint URL").fill("https://hooks.example.com/in")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.locator("#event_types-error")).to_be_visible()
    tab.check("webhooks-refused")

    path = receiver.path("web")
    page.get_by_label("Endpoint URL").fill(receiver.url(path))
    page.get_by_label("org.updated").check()
    page.get_by_role("button", name="Create webhook").click()
    secret = page.get_by_role("textbox", name="Signing secret")
    expect(secret).to_have_value(re.compile(r"^whsec_.+"))
    tab.check("webhook-created-secret")
    assert "/settings/webhooks/whk_" in page.url
    expect(page.get_by_text("No delivery attempts yet")).to_be_visible()

    page.reload()
    expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)
    assert api.patch(f"/orgs/{org_id}", json={"display_name": "Acme Renamed"}).status_code == 200
    receiver.wait_for(path)
    for _ in range(50):
        page.reload()
        if page.get_by_role("cell", name="org.updated").count():
            break
    expect(page.get_by_role("cell", name="org.updated")).to_be_visible()
    expect(page.get_by_role("cell", name="200")).to_be_visible()
    tab.check("webhook-delivery-log")

    page.get_by_label("Enabled: send events to it").uncheck()
    page.get_by_role("button", name="Save webhook").click()
    page.goto(f"{tab.base_url}/app/{org_id}/settings/webhooks")
    expect(page.get_by_role("cell", name="disabled")).to_be_visible()
    page.get_by_role("link", name=receiver.url(path)).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete webhook").click()
    expect(page.get_by_text("No webhooks yet")).to_be_visible()


def test_rejection_reasons_crud(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("reasons"))
    org_id = _org(api, "reasons")
    page = tab.open(f"/app/{org_id}/settings/rejection-reasons")
    tab.check("rejection-reasons")
    page.get_by_role("button", name="Add reason").click()
    expect(page.locator("#label-error")).to_be_visible()
    tab.check("rejection-reasons-refused")
    page.get_by_label("New reason").fill("No licence")
    page.get_by_role("button", name="Add reason").click()
    renamed = page.get_by_role("listitem").filter(has=page.locator("input[value='No licence']"))
    expect(renamed).to_have_count(1)
    renamed.get_by_label("Reason").fill("No driving licence")
    renamed.get_by_role("button", name="Rename").click()
    row = page.get_by_role("listitem").filter(has=page.locator("input[value='No driving licence']"))
    expect(row).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("input[value='No driving licence']")).to_have_count(0)


def test_email_template_preview_refused_placeholder_and_reset(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("templates"))
    org_id = _org(api, "templates")
    page = tab.open(f"/app/{org_id}/settings/email-templates")
    tab.check("email-templates")
    page.get_by_role("link", name="The rejection email").click()
    subject = page.get_by_role("textbox", name="Subject", exact=True)
    text = page.get_by_role("textbox", name="Text", exact=True)
    expect(page.get_by_role("cell", name="{{first_name}}")).to_be_visible()
    subject.fill("About {{ first_name.upper }}")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#subject-error")).to_contain_text("placeholder")
    subject.fill("Hello {{first_name}}")
    text.fill("Dear {{first_name}}, <b>sorry</b> from {{org}}. {{email}}")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#body-error")).to_contain_text("unknown placeholder")
    tab.check("email-template-refused")

    text.fill("Dear {{first_name}}, <b>sorry</b> from {{org}}.")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".template-preview")
    expect(preview).to_contain_text("Hello Alex")
    expect(preview).to_contain_text("Dear Alex, <b>sorry</b> from Acme Deliveries.")
    tab.check("email-template-preview")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Go back to the default email").click()
    expect(subject).to_have_value("Your application to {{application}}")


def test_email_health_for_admins_only(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("health"))
    org_id = _org(api, "health")
    page = tab.open(f"/app/{org_id}/settings/email-health")
    expect(page.get_by_role("heading", name="The platform's email sending health")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Bounce rate")).to_contain_text("5%")
    tab.check("email-health")

    member_email = unique_email("member")
    invite = api.post(f"/orgs/{org_id}/invites", json={"email": member_email}).json()
    member, member_api = signed_in_tab(people, member_email)
    assert member_api.post(f"/invites/{invite['id']}/accept").status_code == 200
    page = member.open(f"/app/{org_id}/settings/email-health")
    expect(page.get_by_text("This needs the admin role")).to_be_visible()
    member.open(f"/app/{org_id}/settings")
    expect(member.page.get_by_role("link", name="Email sending health")).to_have_count(0)


def test_org_name_and_deletion_forms(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("founder"))
    org_id = _org(api, "settings")
    page = tab.open(f"/app/{org_id}/settings")
    page.get_by_label("Organisation name").fill("")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("#display_name-error")).to_be_visible()
    page.get_by_label("Organisation name").fill("Acme Couriers")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_label("Organisation name")).to_have_value("Acme Couriers")

    page.get_by_label(f"Type {org_id} to confirm").fill("not-the-address")
    page.get_by_role("button", name="Delete Acme Couriers").click()
    expect(page.locator("#confirm-error")).to_contain_text(org_id)
    tab.check("settings-delete-refused")
    page.get_by_label(f"Type {org_id} to confirm").fill(org_id)
    page.get_by_role("button", name="Delete Acme Couriers").click()
    expect(page).to_have_url(f"{tab.base_url}/app")
    expect(page.get_by_role("link", name="Acme Couriers")).to_have_count(0)


def test_a_stage_email_is_written_from_the_application_list(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("stages"))
    org_id = _org(api, "stagemail")
    application = api.post(f"/orgs/{org_id}/applications", json={"name": "Delivery driver"}).json()
    stage = api.post(f"/orgs/{org_id}/applications/{application['id']}/stages", json={"name": "Interview"})
    assert stage.status_code == 201
    page = tab.open(f"/app/{org_id}/settings/email-templates")
    expect(page.get_by_role("listitem").filter(has_text="Interview")).to_contain_text("no email")
    page.get_by_role("link", name="Interview").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Interview")
    tab.check("email-template-stage")
    page.get_by_role("textbox", name="Subject", exact=True).fill("Next: {{portal_link}}")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#subject-error")).to_contain_text("only be used in the body")
    page.get_by_role("textbox", name="Subject", exact=True).fill("{{stage}} is next")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.get_by_role("link", name="Email templates").click()
    expect(page.get_by_role("listitem").filter(has_text="Interview")).to_contain_text("sends an email")
