"""Unit tests for plutomi.domain.emails (rendering, HTML escaping, hostile names) and the MIME that
adapters.ses_mailer.build_mime makes of them (pure: no SES)."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from email.message import EmailMessage

import pytest

from plutomi.adapters.ses_mailer import build_mime
from plutomi.domain.emails import (
    OutgoingEmail,
    applicant_link_email,
    invite_email,
    login_code_email,
    with_unsubscribe,
)

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


# ---------------------------------------------------------------------- names stored before the rules

HOSTILE_NAME = "Night Owls\r\nBcc: victim@example.com\x00\x07\u202e\u2066\ufeff"
SENDER = "Plutomi <no-reply@plutomi.test>"
PORTAL_URL = "https://app.plutomi.test/public/applicants/apl_1.secret"


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def hostile_emails() -> list[OutgoingEmail]:
    return [
        invite_email("bob@example.com", HOSTILE_NAME, "alice@example.com", "admin", ACCEPT_URL),
        applicant_link_email("bob@example.com", HOSTILE_NAME, HOSTILE_NAME, PORTAL_URL),
        with_unsubscribe(
            applicant_link_email("bob@example.com", HOSTILE_NAME, HOSTILE_NAME, PORTAL_URL),
            "https://app.plutomi.test/unsubscribe/abc",
        ),
    ]


@pytest.mark.parametrize("mail", hostile_emails(), ids=["invite", "portal", "portal-unsubscribe"])
def test_names_are_put_on_one_safe_line_everywhere(mail: OutgoingEmail) -> None:
    assert "\r" not in mail.subject and "\n" not in mail.subject
    assert "Night Owls Bcc: victim@example.com" in mail.subject
    for part in (mail.subject, mail.text, mail.html):
        for char in "\x00\x07\u202e\u2066\ufeff\r":
            assert char not in part
    assert "Bcc: victim@example.com\n" not in mail.text
    assert "<bdi>Night Owls Bcc: victim@example.com</bdi>" in mail.html


def test_a_right_to_left_name_is_isolated_in_html() -> None:
    mail = applicant_link_email("bob@example.com", "שרה", "נהגים", PORTAL_URL)
    assert "<bdi>שרה</bdi>" in mail.html and "<bdi>נהגים</bdi>" in mail.html
    assert mail.subject == "Your application: נהגים"
    assert '<h2 dir="auto"' in mail.html


def test_a_very_long_or_empty_name_is_bounded_or_named() -> None:
    mail = invite_email("bob@example.com", "x" * 5000, "alice@example.com", "admin", ACCEPT_URL)
    assert len(mail.subject) < 200 and "\u2026" in mail.subject
    assert "(no name)" in invite_email("b@example.com", "\r\n", "a@example.com", "admin", ACCEPT_URL).subject
    assert applicant_link_email("bob@example.com", "\x07", "Drivers", PORTAL_URL).text.startswith("Hi,\n")


@pytest.mark.parametrize("mail", hostile_emails(), ids=["invite", "portal", "portal-unsubscribe"])
def test_the_mime_of_a_hostile_name_has_no_injected_header(mail: OutgoingEmail) -> None:
    raw = build_mime(SENDER, mail)
    raw.decode("ascii")  # headers encoded (RFC 2047), bodies given a transfer encoding
    message = parsed(raw)
    names = {name.lower() for name in message}
    assert "bcc" not in names and "cc" not in names
    assert names <= {
        "subject",
        "from",
        "to",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "list-unsubscribe",
        "list-unsubscribe-post",
    }
    assert str(message["To"]) == "bob@example.com"
    assert str(message["Subject"]) == mail.subject


def test_build_mime_never_raises_on_what_an_email_carries() -> None:
    """Whatever ends up in an OutgoingEmail (templates or not), the message is built, one header each."""
    values = [
        "a\r\nBcc: victim@example.com",
        "a\nb",
        "a\rb",
        "\x00\x07\x0b\x0c\x1c\x1f\x7f\x85\x9f",
        "a\u2028b\u2029c",
        "a\ud800b\udfff",
        "=?utf-8?b?QmNjOiB2aWN0aW1AZXhhbXBsZS5jb20=?=",
        "Ünïcødé " * 80,
        "😀" * 500,
        "x" * 5000,
        "שלום \u202e עולם",
        "",
    ]
    for value in values:
        mail = OutgoingEmail(
            to="bob@example.com",
            subject=value,
            text=value,
            html=f"<p>{value}</p>",
            headers={"List-Unsubscribe": f"<https://x.test/{value}>", "X-Note": value},
        )
        message = parsed(build_mime(SENDER, mail))
        for name in ("Subject", "X-Note", "List-Unsubscribe", "To", "From"):
            assert len(message.get_all(name) or []) == 1, (value, name)
            assert "\n" not in str(message[name]) and "\r" not in str(message[name])
        assert "bcc" not in {name.lower() for name in message}
        assert len(str(message["Subject"])) <= 200
        assert "=?" not in str(message["Subject"])  # a literal encoded word is not decoded by clients


def test_a_non_ascii_subject_is_encoded_and_round_trips() -> None:
    mail = invite_email("bob@example.com", "Zoë & Ñandú 日本 😀", "alice@example.com", "admin", ACCEPT_URL)
    raw = build_mime(SENDER, mail)
    header_lines = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" in header_lines.lower()
    assert str(parsed(raw)["Subject"]) == "alice@example.com invited you to Zoë & Ñandú 日本 😀 on Plutomi"
