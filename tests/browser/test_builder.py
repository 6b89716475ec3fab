"""The application builder in a browser: the delivery-driver application designed through the
pages, stages reordered by dragging and by buttons, a stage holding an applicant deleted with
"move these applicants to", and each form's messages for bad input."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import unique_email, unique_org_id
from tests.support.browser import People, Tab, sign_in, signed_in_tab
from tests.support.browser_flows import (
    DELIVERY_STAGES,
    add_question,
    add_stage,
    build_delivery_driver_application,
    create_application_via_api,
    fill_condition,
    open_stage,
)
from tests.support.http import Api
from tests.support.http import sign_in as sign_in_api


def recruiter_with_org(people: People) -> tuple[Tab, Api, str]:
    tab, api = signed_in_tab(people, unique_email("designer"))
    org_id = unique_org_id("builder")
    assert api.post("/orgs", json={"id": org_id, "display_name": "Fast Vans"}).status_code == 201
    return tab, api, org_id


def test_the_delivery_driver_application_is_built_in_the_builder(people: People) -> None:
    tab, api, org_id = recruiter_with_org(people)
    application_id = build_delivery_driver_application(tab, org_id)
    tab.check("builder-delivery-driver")
    design = api.get(f"/orgs/{org_id}/applications/{application_id}").json()
    assert design["status"] == "open"
    assert [s["name"] for s in design["stages"]] == list(DELIVERY_STAGES)
    stages = {s["name"]: s["id"] for s in design["stages"]}
    questionnaire = api.get(
        f"/orgs/{org_id}/applications/{application_id}/stages/{stages['Questionnaire']}"
    ).json()
    assert [q["type"] for q in questionnaire["questions"]] == ["boolean", "number", "single_choice", "email"]
    answer_rule, idle_rule = questionnaire["rules"]
    assert answer_rule["conditions"][1] == {
        "question_id": questionnaire["questions"][1]["id"],
        "operator": "gte",
        "value": 2,
    }
    assert idle_rule["after_minutes"] == 30 * 1440 and idle_rule["to_stage_id"] == stages["Waiting List"]
    uploads = api.get(
        f"/orgs/{org_id}/applications/{application_id}/stages/{stages['Document Upload']}"
    ).json()
    assert uploads["questions"][0]["accepts"] == ["application/pdf", "image/jpeg"]
    assert uploads["rules"][0]["conditions"][0]["operator"] == "is_present"


def test_stages_reorder_by_dragging_and_by_buttons(people: People) -> None:
    tab, api, org_id = recruiter_with_org(people)
    application_id = create_application_via_api(tab, org_id)
    page = tab.open(f"/app/{org_id}/applications/{application_id}")
    tab.check("builder-empty")
    for name in ("Waiting List", "Document Upload", "Questionnaire"):
        add_stage(page, name)
    items = page.locator("[data-stage-list] > li")
    with page.expect_navigation():
        items.nth(2).drag_to(items.nth(0), target_position={"x": 20, "y": 2})
    expect(page.locator("[data-stage-list] > li > a")).to_have_text(
        ["Questionnaire", "Waiting List", "Document Upload"]
    )
    page.get_by_role("button", name="Move Waiting List down").click()
    expect(page.locator("[data-stage-list] > li > a").last).to_have_text("Waiting List")
    page.get_by_role("button", name="Move Waiting List up").click()
    expect(page.locator("[data-stage-list] > li > a").nth(1)).to_have_text("Waiting List")
    tab.check("builder-reordered")
    design = api.get(f"/orgs/{org_id}/applications/{application_id}").json()
    assert [s["name"] for s in design["stages"]] == ["Questionnaire", "Waiting List", "Document Upload"]


def test_the_builder_works_without_javascript(people: People) -> None:
    email = unique_email("no-js")
    api = sign_in_api(people.base_url, email)
    org_id = unique_org_id("nojs")
    assert api.post("/orgs", json={"id": org_id, "display_name": "Plain Forms"}).status_code == 201
    application_id = api.post(f"/orgs/{org_id}/applications", json={"name": "Couriers"}).json()["id"]
    tab = people.tab(javascript=False)
    sign_in(tab, email)
    page = tab.open(f"/app/{org_id}/applications/{application_id}")
    add_stage(page, "Interview")
    add_stage(page, "Screening")
    page.get_by_role("button", name="Move Screening up").click()
    expect(page.locator("[data-stage-list] > li > a").first).to_have_text("Screening")
    open_stage(page, "Screening")
    add_question(page, "Multi choice", "Vehicles", options=["Van", "Bike"])
    form = page.locator("#answer-rule-form")
    form.get_by_role("button", name="Add another condition").click()
    expect(page.locator("#answer-rule-form").get_by_role("group")).to_have_count(3)
    fill_condition(page, 1, "Vehicles", "contains", "Van")
    page.locator("#answer-rule-form").get_by_label("Then move to").select_option(label="Interview")
    page.locator("#answer-rule-form").get_by_role("button", name="Add answer rule").click()
    expect(page.get_by_text("When 'Vehicles' contains Van, move to Interview")).to_be_visible()
    tab.check("builder-no-javascript")

    page.get_by_role("link", name="Edit rule 1").click()
    expect(page.get_by_role("heading", name="Edit the answer rule")).to_be_visible()
    condition = page.locator("#answer-rule-form").get_by_role("group", name="Condition 1")
    expect(condition.get_by_label("Value")).to_have_value("Van")
    condition.get_by_label("Value").fill("Bike")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("When 'Vehicles' contains Bike, move to Interview")).to_be_visible()
    page.get_by_role("link", name="Edit Vehicles").click()
    form = page.locator("#question-form")
    expect(form.get_by_label("Options, one per line")).to_have_value("Van\nBike")
    form.get_by_role("textbox", name="Question", exact=True).fill("Your vehicles")
    form.get_by_role("button", name="Save question").click()
    expect(page.locator("#questions + .builder-items strong")).to_have_text(["Your vehicles"])
    tab.check("builder-edited")


def test_deleting_a_stage_with_an_applicant_asks_where_to_move_them(people: People) -> None:
    tab, api, org_id = recruiter_with_org(people)
    application_id = create_application_via_api(tab, org_id)
    base = f"/orgs/{org_id}/applications/{application_id}"
    for name in ("Old Screening", "Interview"):
        assert api.post(f"{base}/stages", json={"name": name}).status_code == 201
    assert api.patch(base, json={"status": "open"}).status_code == 200
    applicant = {"email": unique_email("sam"), "first_name": "Sam", "last_name": "Moved"}
    applied = Api(people.base_url).post(
        f"/public/orgs/{org_id}/applications/{application_id}/applicants", json=applicant
    )
    assert applied.status_code == 202, applied.text
    page = tab.open(f"/app/{org_id}/applications/{application_id}")
    open_stage(page, "Old Screening")
    page.get_by_text("Delete this stage").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete stage").click()
    expect(page.locator("#move_applicants_to-error")).to_contain_text("1 applicant(s) are in this stage")
    tab.check("builder-delete-stage-needs-target")
    page.get_by_label("Move its applicants to").select_option(label="Interview")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete stage").click()
    expect(page.locator("[data-stage-list] > li > a")).to_have_text(["Interview"])
    stranger, _ = signed_in_tab(people, unique_email("stranger"))
    builder = f"{stranger.base_url}/app/{org_id}/applications/{application_id}"
    assert stranger.page.request.get(builder).status == 404
    refused = stranger.page.request.post(
        f"{builder}/stages", form={"new_stage_name": "Mine"}, headers={"Origin": stranger.base_url}
    )
    assert refused.status == 404, "a stranger's form post is refused as if the org did not exist"
    listed = api.get(f"{base}/applicants").json()["applicants"]
    interview = api.get(base).json()["stages"][0]["id"]
    assert [a["stage_id"] for a in listed] == [interview]


def test_every_form_shows_the_services_messages_next_to_the_field(people: People) -> None:
    tab, _, org_id = recruiter_with_org(people)
    application_id = create_application_via_api(tab, org_id)
    page = tab.open(f"/app/{org_id}/applications/{application_id}")

    page.get_by_role("button", name="Open to applicants").click()
    expect(page.get_by_role("alert").first).to_contain_text("Add at least one stage")
    page.get_by_role("textbox", name="Name", exact=True).fill("  ")
    page.get_by_role("button", name="Save application").click()
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_attribute("aria-invalid", "true")
    tab.check("builder-settings-refused")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#new_stage_name-error")).to_be_visible()

    add_stage(page, "Questionnaire")
    add_stage(page, "Waiting List")
    open_stage(page, "Questionnaire")
    page.get_by_label("Stage name").fill("")
    page.get_by_role("button", name="Rename stage").click()
    expect(page.locator("#stage_name-error")).to_be_visible()

    form = page.locator("#question-form")
    form.get_by_label("Type of answer").select_option(label="Single choice")
    form.get_by_role("textbox", name="Question", exact=True).fill("City")
    form.get_by_role("button", name="Add question").click()
    expect(page.locator("#options-error")).to_contain_text("at least one option")
    tab.check("builder-question-refused")
    form = page.locator("#question-form")
    expect(form.get_by_role("textbox", name="Question", exact=True)).to_have_value("City")
    form.get_by_label("Type of answer").select_option(label="File")
    form.get_by_label("Largest file, in MB").fill("900")
    form.get_by_role("button", name="Add question").click()
    expect(page.locator("#max_size_mb-error")).to_contain_text("at most 25 MB")
    add_question(page, "Number", "Years of driving")

    fill_condition(page, 1, "Years of driving", "is at least", "many")
    page.locator("#answer-rule-form").get_by_label("Then move to").select_option(label="Waiting List")
    page.locator("#answer-rule-form").get_by_role("button", name="Add answer rule").click()
    expect(page.locator("#condition-0-value-error")).to_contain_text("is not a possible answer")
    tab.check("builder-rule-refused")
    operator = page.locator("#answer-rule-form").get_by_role("group", name="Condition 1").get_by_label("Test")
    expect(operator.locator("option", has_text="contains")).to_be_disabled()  # narrowed to the type

    form = page.locator("#idle-rule-form")
    form.get_by_label("After").fill("0")
    form.get_by_role("button", name="Add idle rule").click()
    expect(page.locator("#amount-error")).to_be_visible()
    expect(page.locator("#idle_to_stage_id-error")).to_be_visible()
    tab.check("builder-idle-rule-refused")

    fill_condition(page, 1, "Years of driving", "is at least", "2")
    page.locator("#answer-rule-form").get_by_label("Then move to").select_option(label="Waiting List")
    page.locator("#answer-rule-form").get_by_role("button", name="Add answer rule").click()
    expect(page.get_by_text("When 'Years of driving' is at least 2, move to Waiting List")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Years of driving").click()
    expect(page.get_by_role("alert").first).to_contain_text("Rules use this question")
    tab.check("builder-conflict")
