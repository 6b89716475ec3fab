"""Browser tests: Playwright (PyPI) driving Debian's Chromium against the test stack's gateway.

Every page a test opens is checked the same way: axe-core (from npm, node_modules/axe-core) finds no
serious or critical violation, the browser reported no Content-Security-Policy violation or script
error, and a screenshot lands in `tests/browser/artifacts/` (CI keeps them as artefacts).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    ViewportSize,
    expect,
)

from plutomi.entrypoints.api import SESSION_COOKIE
from tests.conftest import unique_client
from tests.support.http import Api, code_from
from tests.support.http import sign_in as sign_in_api
from tests.support.stack import emails_to, wait_for_email

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"
# As the machine's notes say Chromium must start here: no sandbox as root, and none of the background
# connections a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
BLOCKING_IMPACTS = {"serious", "critical"}


def chromium_path() -> str | None:
    """Debian's Chromium (the `chromium` package), or None when it is not installed."""
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@dataclass
class Tab:
    """A page in its own browser context (its own cookies: one person), with what it reported."""

    page: Page
    context: BrowserContext
    base_url: str
    javascript: bool = True
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        self.page.goto(f"{self.base_url}{path}")
        return self.page

    def check(self, name: str) -> None:
        """The page as it is now: no serious or critical accessibility violation, no script or CSP
        error so far, and a screenshot named `name`. (Without JavaScript axe cannot run: the same
        pages are checked by the tests that have it.)"""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        if self.javascript:
            violations = accessibility_violations(self.page)
            assert violations == [], f"{name}: {json.dumps(violations, indent=2)}"
        assert self.problems == [], f"{name}: the browser reported {self.problems}"


def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page, one entry per rule with its nodes.
    The script is evaluated through the DevTools protocol, which the page's CSP does not govern."""
    assert AXE.exists(), f"{AXE} is missing: `npm ci` installs it (make test does)"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const found = await window.axe.run(document, {resultTypes: ["violations"]});
            return found.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return [violation for violation in result if violation["impact"] in BLOCKING_IMPACTS]


class People:
    """Opens tabs, each a separate person (browser context) with their own client address."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self._contexts: list[BrowserContext] = []

    def tab(self, viewport: ViewportSize | None = None, *, javascript: bool = True) -> Tab:
        context = self.browser.new_context(
            viewport=viewport or DESKTOP,
            java_script_enabled=javascript,
            extra_http_headers={"x-forwarded-for": unique_client()},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        self._contexts.append(context)
        page = context.new_page()
        tab = Tab(page, context, self.base_url, javascript)

        def on_console(message: ConsoleMessage) -> None:
            # A page answering 4xx is the point of many tests; a file it loads failing is not.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                tab.problems.append(message.text)

        def on_response(response: Response) -> None:
            # A redirect is on its way to the file (a document's preview goes through the open link).
            if (
                response.request.resource_type in {"stylesheet", "script", "image", "font"}
                and response.status >= 400
            ):
                tab.problems.append(f"{response.status} for {response.url}")

        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda error: tab.problems.append(f"script error: {error}"))
        return tab

    def close(self) -> None:
        for context in self._contexts:
            context.close()


def sign_in(tab: Tab, email: str, start: str = "/sign-in") -> Page:
    """Signs a person in as a person does: the email form, the emailed code, the code form. `start`
    may be a page that needs a session: it sends the person to sign in, and back there after."""
    page = tab.open(start)
    seen = len(emails_to(email, "login code"))
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_label("Code from the email")).to_be_visible()
    code = code_from(wait_for_email(email, subject_contains="login code", after=seen).text)
    page.get_by_label("Code from the email").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Sign in")
    return page


def signed_in_tab(
    people: People, email: str, viewport: ViewportSize | None = None, *, javascript: bool = True
) -> tuple[Tab, Api]:
    """A tab already signed in as `email`, and an API client for the same person (to set things up
    quickly). The sign-in pages themselves are tested in test_sign_in.py; here the session from the
    API's sign-in goes into the browser's cookie jar, as the sign-in page would put it there."""
    api = sign_in_api(people.base_url, email)
    tab = people.tab(viewport, javascript=javascript)
    assert api.token is not None
    tab.context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": api.token,
                "url": people.base_url,
                "httpOnly": True,
                "secure": True,
            }
        ]
    )
    return tab, api
