"""Fixtures for the browser tests: one Chromium for the session, people (browser contexts) per test.

Without Debian's Chromium every test here is skipped, and the session says so loudly at the end
(`make test` installs the `chromium` package when it runs as root and it is missing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.browser import CHROMIUM_ARGS, People, chromium_path
from tests.support.stack import RunningStack

CHROMIUM = chromium_path()
SKIPPED = "BROWSER TESTS SKIPPED: Debian's chromium is not installed (apt-get install chromium)"


def _in_browser_tests(item: pytest.Item) -> bool:
    return "tests/browser/" in item.path.as_posix()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks the browser tests and runs them last: Playwright's sync API keeps an event loop running
    in the main thread from its first use to the end of the session, and tests elsewhere call
    `asyncio.run` there."""
    for item in items:
        if _in_browser_tests(item):
            item.add_marker(pytest.mark.browser)
            if CHROMIUM is None:
                item.add_marker(pytest.mark.skip(reason=SKIPPED))
    items.sort(key=_in_browser_tests)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CHROMIUM is None:
        terminalreporter.write_sep("!", SKIPPED, red=True, bold=True)


@pytest.fixture(scope="session")
def playwright(stack: RunningStack) -> Iterator[Playwright]:
    # After the stack: starting it runs `asyncio.run` in this thread, which Playwright's loop forbids.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert CHROMIUM is not None
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture
def people(browser: Browser, stack: RunningStack) -> Iterator[People]:
    crowd = People(browser, stack.base_url)
    yield crowd
    crowd.close()
