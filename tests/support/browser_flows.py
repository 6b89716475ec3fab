"""Steps of the web app's flows as a person does them in the browser, shared by the browser tests
(each area's own tests, and the whole seed flow in tests/browser/test_seed_flow.py)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from tests.support.browser import Tab


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
