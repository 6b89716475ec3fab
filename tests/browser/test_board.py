"""The applications list and the pipeline board in a browser: columns with live counts, dragging a
card, the "Move to" menu (with JavaScript and without), a stale move, load more, the status filter,
the create form's messages, and a 375-pixel phone."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.conftest import unique_email, unique_org_id
from tests.support.browser import PHONE, People, signed_in_tab
from tests.support.browser_flows import board_card, board_column, drag_to_stage
from tests.support.http import Api

STAGES = ("Applied", "Interview", "Final review")


@dataclass
class Pipeline:
    org_id: str
    application_id: str
    stage_ids: dict[str, str]  # by name
    applicant_ids: dict[str, str]  # by "First Last"

    @property
    def board(self) -> str:
        return f"/app/{self.org_id}/applications/{self.application_id}/board"


def open_pipeline(api: Api, names: list[str], label: str = "board") -> Pipeline:
    """An org with an open application of three stages and `names` applied (all in Applied)."""
    org_id = unique_org_id(label)
    assert api.post("/orgs", json={"id": org_id, "display_name": "Acme Deliveries"}).status_code == 201
    created = api.post(f"/orgs/{org_id}/applications", json={"name": "Delivery driver"})
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]
    base = f"/orgs/{org_id}/applications/{application_id}"
    for stage in STAGES:
        assert api.post(f"{base}/stages", json={"name": stage}).status_code == 201
    assert api.patch(base, json={"status": "open"}).status_code == 200
    stage_ids = {s["name"]: s["id"] for s in api.get(base).json()["stages"]}
    for name in names:
        first, last = name.split(" ", 1)
        body = {"email": unique_email(first.lower()), "first_name": first, "last_name": last}
        applied = Api(api.base_url).post(
            f"/public/orgs/{org_id}/applications/{application_id}/applicants", json=body
        )
        assert applied.status_code in (200, 202), applied.text
    listed = api.get(f"{base}/applicants", params={"limit": 100}).json()["applicants"]
    applicant_ids = {f"{a['first_name']} {a['last_name']}": a["id"] for a in listed}
    assert len(applicant_ids) == len(names)
    return Pipeline(org_id, application_id, stage_ids, applicant_ids)


def expect_counts(page: Page, *counts: int) -> None:
    for stage, count in zip(STAGES, counts, strict=True):
        expect(board_column(page, stage).locator(".stage-count")).to_have_attribute("data-count", str(count))


def test_the_board_shows_columns_and_counts_and_a_dragged_card_moves(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("boarder"))
    pipeline = open_pipeline(api, ["Ann Archer", "Ben Baker", "Cat Cole"])
    page = tab.open(pipeline.board)
    expect(page.get_by_role("heading", name="Delivery driver", level=1)).to_be_visible()
    for stage in STAGES:
        expect(board_column(page, stage)).to_be_visible()
    expect_counts(page, 3, 0, 0)
    expect(board_card(page, "Ann Archer")).to_contain_text("Active")
    tab.check("board")

    drag_to_stage(tab, "Ann Archer", "Interview")

    expect(page.get_by_role("status")).to_contain_text("Ann Archer moved to Interview")
    expect_counts(page, 2, 1, 0)
    expect(board_column(page, "Interview").get_by_role("link", name="Ann Archer")).to_be_visible()
    moved = api.get(f"/orgs/{pipeline.org_id}/applicants/{pipeline.applicant_ids['Ann Archer']}").json()
    assert moved["stage_id"] == pipeline.stage_ids["Interview"]
    tab.check("board-after-drag")


def test_the_move_menu_moves_with_javascript_and_without(people: People) -> None:
    email = unique_email("menu-mover")
    tab, api = signed_in_tab(people, email)
    pipeline = open_pipeline(api, ["Dan Dale", "Eve Evans"])
    page = tab.open(pipeline.board)
    card = board_card(page, "Dan Dale")
    card.get_by_label("Move Dan Dale to").select_option(label="Final review")
    card.get_by_role("button", name="Move Dan Dale").click()
    expect(page.get_by_role("status")).to_contain_text("Dan Dale moved to Final review")
    expect_counts(page, 1, 0, 1)
    # Keyboard only: focus the menu, choose, press Enter on the button.
    menu = board_card(page, "Eve Evans").get_by_label("Move Eve Evans to")
    menu.focus()
    menu.select_option(label="Interview")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect_counts(page, 0, 1, 1)

    plain, _ = signed_in_tab(people, email, javascript=False)  # the same recruiter, without JavaScript
    page = plain.open(pipeline.board)
    card = board_card(page, "Eve Evans")
    card.get_by_label("Move Eve Evans to").select_option(label="Applied")
    card.get_by_role("button", name="Move Eve Evans").click()
    expect(page).to_have_url(f"{plain.base_url}{pipeline.board}?status=active&order=oldest")
    expect_counts(page, 1, 0, 1)
    plain.check("board-no-js-after-menu-move")


def test_a_stale_drag_shows_who_moved_first_and_refreshes_the_board(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("stale"))
    pipeline = open_pipeline(api, ["Fay Fox", "Gus Grey"])
    page = tab.open(pipeline.board)
    expect_counts(page, 2, 0, 0)
    # Someone else moves Fay to Final review while this board is open.
    moved = api.post(
        f"/orgs/{pipeline.org_id}/applicants/{pipeline.applicant_ids['Fay Fox']}/move",
        json={
            "from_stage_id": pipeline.stage_ids["Applied"],
            "to_stage_id": pipeline.stage_ids["Final review"],
        },
    )
    assert moved.status_code == 200, moved.text

    drag_to_stage(tab, "Fay Fox", "Interview")

    expect(page.get_by_role("status")).to_contain_text(
        "Fay Fox was already moved to Final review by someone else"
    )
    expect_counts(page, 1, 0, 1)
    expect(board_column(page, "Final review").get_by_role("link", name="Fay Fox")).to_be_visible()
    tab.check("board-stale-move")


def test_load_more_and_the_status_filter_and_the_order(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("many"))
    names = [f"Pat No{number:02d}" for number in range(23)]
    pipeline = open_pipeline(api, names)
    reasons = api.get(f"/orgs/{pipeline.org_id}/rejection-reasons").json()["rejection_reasons"]
    rejected = api.post(
        f"/orgs/{pipeline.org_id}/applicants/{pipeline.applicant_ids['Pat No05']}/reject",
        json={"reason_id": reasons[0]["id"], "send_email": False},
    )
    assert rejected.status_code == 200, rejected.text
    newest = api.get(
        f"/orgs/{pipeline.org_id}/applications/{pipeline.application_id}/applicants",
        params={"order": "newest", "limit": 1},
    ).json()["applicants"]
    assert [a["last_name"] for a in newest] == ["No22"]
    page = tab.open(pipeline.board)
    applied = board_column(page, "Applied")
    expect(applied.locator(".board-card")).to_have_count(20)
    expect(applied.locator(".board-card").first).to_contain_text("Pat No00")  # oldest first
    expect(applied.locator(".column-counts")).to_contain_text("22 active · 1 rejected")

    applied.get_by_role("link", name="Load more in Applied").click()
    expect(applied.locator(".board-card")).to_have_count(22)
    expect(applied.get_by_role("link", name="Load more in Applied")).to_have_count(0)
    expect(applied.locator(".board-card").last).to_contain_text("Pat No22")
    tab.check("board-load-more")

    page.get_by_label("Order").select_option(label="Newest first")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(applied.locator(".board-card").first).to_contain_text("Pat No22")

    page.get_by_label("Show", exact=True).select_option(label="Rejected")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(f"{tab.base_url}{pipeline.board}?status=rejected&order=newest")
    expect(applied.locator(".board-card")).to_have_count(1)
    expect(board_card(page, "Pat No05")).to_contain_text("Rejected")
    expect(board_card(page, "Pat No05").get_by_role("combobox")).to_have_count(0)  # decided: no moves
    expect(applied.locator(".stage-count")).to_have_attribute("data-count", "1")
    tab.check("board-rejected")


def test_the_applications_list_and_its_create_form(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("lister"))
    pipeline = open_pipeline(api, ["Hal Hart", "Ida Ink"], label="list")
    page = tab.open(f"/app/{pipeline.org_id}")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Delivery driver"))
    expect(row).to_contain_text("Open")
    expect(row.get_by_role("cell").nth(1)).to_have_text("2")  # active
    expect(row.get_by_role("link", name="Board of Delivery driver")).to_have_attribute("href", pipeline.board)
    expect(row.get_by_role("link", name="Careers page of Delivery driver")).to_be_visible()
    tab.check("applications")

    page.get_by_role("button", name="Create application").click()
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    tab.check("applications-refused")
    page.get_by_label("Name").fill("Warehouse picker")
    page.get_by_role("button", name="Create application").click()
    page.wait_for_url(f"{tab.base_url}/app/{pipeline.org_id}/applications/app_*")
    listed = api.get(f"/orgs/{pipeline.org_id}/applications").json()["applications"]
    assert [a["name"] for a in listed] == ["Delivery driver", "Warehouse picker"]
    assert page.url.endswith(f"/applications/{listed[1]['id']}")


def test_the_board_fits_a_phone_and_scrolls_sideways(people: People) -> None:
    tab, api = signed_in_tab(people, unique_email("phone"), PHONE)
    pipeline = open_pipeline(api, ["Jo Jones"], label="phone")
    page = tab.open(pipeline.board)
    expect(board_column(page, "Applied")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    board = page.get_by_role("region", name="Pipeline board: active applicants by stage")
    assert board.evaluate("(element) => element.scrollWidth > element.clientWidth")
    board.evaluate("(element) => { element.scrollLeft = element.scrollWidth; }")
    expect(board_column(page, "Final review")).to_be_in_viewport()
    tab.check("board-phone")
