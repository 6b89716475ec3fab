"""Unit tests for plutomi.domain.emails: rendering and HTML escaping."""

from __future__ import annotations

import dataclasses

import pytest

from plutomi.domain.emails import OutgoingEmail, invite_email, login_code_email

ACCEPT_URL = "https://app.plutomi.test/invites"


# ---------------------------------------------------------------------- login code


def test_login_code_email_contains_code_everywhere() -> None:
    email = login_code_email("alice@example.com", "ABC234", 5)
    assert email.to == "alice@example.com"
    assert "ABC234" in email.subject
    assert "ABC234" in email.text
    assert "ABC234" in email.html
    assert email.headers == {}


def test_login_code_email_mentions_validity() -> None:
    email = login_code_email("alice@example.com", "ABC234", 7)
    assert "7 minutes" in email.text
    assert "7 minutes" in email.html


def test_login_code_email_html_is_a_document() -> None:
    html = login_code_email("a@b.io", "ABC234", 5).html
    assert html.startswith("<!doctype html>")
    assert html.endswith("</html>")
    assert "Sent by Plutomi." in html


def test_login_code_is_escaped_in_html() -> None:
    email = login_code_email("a@b.io", "<b>&", 5)
    assert "&lt;b&gt;&amp;" in email.html
    assert "<b>&" not in email.html
    assert "<b>&" in email.text


# ---------------------------------------------------------------------- invite


def test_invite_email_fields() -> None:
    email = invite_email("bob@example.com", "Acme Inc", "alice@example.com", "admin", ACCEPT_URL)
    assert email.to == "bob@example.com"
    assert email.subject == "alice@example.com invited you to Acme Inc on Plutomi"
    for part in (email.text, email.html):
        assert "Acme Inc" in part
        assert "alice@example.com" in part
        assert "admin" in part
        assert ACCEPT_URL in part
    assert f'href="{ACCEPT_URL}"' in email.html


def test_invite_email_escapes_script_in_org_name() -> None:
    name = "<script>alert('x')</script>"
    email = invite_email("bob@example.com", name, "alice@example.com", "member", ACCEPT_URL)
    assert "<script>" not in email.html
    assert "</script>" not in email.html
    assert "&lt;script&gt;" in email.html
    # Escaped exactly once, in both the heading and the body.
    assert email.html.count("&lt;script&gt;") == 2
    assert "&amp;lt;" not in email.html
    # Plain text and subject are not HTML and keep the name as typed.
    assert name in email.text
    assert name in email.subject


def test_invite_email_escapes_ampersand_once() -> None:
    email = invite_email("bob@example.com", "Tom & Jerry", "alice@example.com", "member", ACCEPT_URL)
    assert "Tom &amp; Jerry" in email.html
    assert "Tom & Jerry" not in email.html
    assert "&amp;amp;" not in email.html
    assert "Tom & Jerry" in email.text


def test_invite_email_escapes_inviter_and_role() -> None:
    email = invite_email("bob@example.com", "Acme", "<img src=x>@evil.io", "<i>owner</i>", ACCEPT_URL)
    assert "<img" not in email.html
    assert "<i>" not in email.html
    assert "&lt;img src=x&gt;@evil.io" in email.html
    assert "&lt;i&gt;owner&lt;/i&gt;" in email.html


def test_invite_email_escapes_quotes_in_accept_url() -> None:
    url = 'https://x.test/"><script>alert(1)</script>?a=1&b=2'
    email = invite_email("bob@example.com", "Acme", "alice@example.com", "member", url)
    assert "<script>" not in email.html
    assert 'href="https://x.test/&quot;&gt;&lt;script&gt;' in email.html
    assert "a=1&amp;b=2" in email.html
    assert url in email.text


@pytest.mark.parametrize("name", ["Acme", "Ünïcødé GmbH", "日本の会社"])
def test_invite_email_keeps_unicode(name: str) -> None:
    email = invite_email("bob@example.com", name, "alice@example.com", "member", ACCEPT_URL)
    assert name in email.html
    assert name in email.text
    assert name in email.subject


# ---------------------------------------------------------------------- OutgoingEmail


def test_outgoing_email_is_frozen_with_independent_headers() -> None:
    a = OutgoingEmail(to="a@b.io", subject="s", text="t", html="h")
    b = OutgoingEmail(to="a@b.io", subject="s", text="t", html="h")
    assert a == b
    assert a.headers is not b.headers
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.subject = "changed"  # type: ignore[misc]
