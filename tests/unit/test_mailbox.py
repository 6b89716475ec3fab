"""The local mailbox page: what an email says is escaped, and its links are links."""

from __future__ import annotations

from plutomi.runtime.local_mail import SentEmail
from plutomi.runtime.mailbox import render


def mail(to: str, subject: str, text: str) -> SentEmail:
    return SentEmail("id", "Plutomi <no-reply@plutomi.test>", (to,), subject, text, None, {})


def test_links_are_clickable_and_everything_else_is_escaped() -> None:
    hostile = mail(
        "sam@example.com",
        "<script>alert(1)</script>",
        'Open http://localhost:8080/portal/apl_1.secret"><img src=x onerror=alert(1)> now',
    )
    page = render([hostile])
    assert "<script>alert" not in page and "<img" not in page
    assert '<a href="http://localhost:8080/portal/apl_1.secret">' in page


def test_the_filter_shows_only_mail_to_that_address() -> None:
    page = render(
        [mail("ann@example.com", "For Ann", "a"), mail("bob@example.com", "For Bob", "b")], "ANN@example.com"
    )
    assert "For Ann" in page and "For Bob" not in page
