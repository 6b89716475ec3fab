"""The emails Plutomi sends, rendered from event data. Pure: text in, text out.

Names in an email come from people (an org's display name, an application's name, a first name) and
may have been stored before the text rules (`domain/text.py`) refused what they refuse: each is put
on one line first (`display_line`: control characters and line breaks become spaces, bidi controls
go, the length is bounded), then HTML-escaped and isolated with `<bdi>` in the HTML part, so a
right-to-left name does not reorder the sentence around it. Header values are made safe once more
where the message is built (`adapters/ses_mailer.build_mime`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from html import escape

from plutomi.domain.text import display_line

NAME_LENGTH = 100  # names in emails, cut with an ellipsis: the API allows no longer
UNNAMED = "(no name)"


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    # Essential: the person asked for it just now (a login code, the link to the application they just
    # applied to), so it is sent even after they unsubscribed; never to an address that bounced or
    # complained. Everything else (invitations, decision emails) stops when they unsubscribe.
    essential: bool = False


# What unsubscribing stops: everything not `essential`, decision emails (updates about an application)
# among them, so the footer names them.
UNSUBSCRIBE_TEXT = (
    "To stop invitations, updates about your applications and other email you did not ask for, "
    "unsubscribe: {url}\n"
    "Email you ask for, such as login codes and your application link, still arrives.\n"
)


def with_unsubscribe(email: OutgoingEmail, url: str) -> OutgoingEmail:
    """The email with an unsubscribe link in its text and HTML and the List-Unsubscribe headers
    (RFC 2369), including one-click unsubscribe by POST (RFC 8058)."""
    footer_html = (
        '<p style="color:#666;font-size:12px">'
        f'<a href="{escape(url, quote=True)}">Unsubscribe</a> from invitations, updates about your '
        "applications and other email you did not ask for. Email you ask for, such as login codes and "
        "your application link, still arrives.</p>"
    )
    html = (
        email.html.replace("</body>", f"{footer_html}</body>", 1)
        if "</body>" in email.html
        else email.html + footer_html
    )
    headers = {
        **email.headers,
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    text = f"{email.text.rstrip()}\n\n-- \n{UNSUBSCRIBE_TEXT.format(url=url)}"
    return replace(email, text=text, html=html, headers=headers)


def name_line(value: str, max_length: int = NAME_LENGTH) -> str:
    """A person-given name as one safe line of text, never empty."""
    return display_line(value, max_length) or UNNAMED


def bdi(text: str) -> str:
    return f"<bdi>{escape(text)}</bdi>"


def html_layout(title: str, body_html: str) -> str:
    return (
        '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#111">'
        f'<h2 dir="auto" style="margin:0 0 16px">{escape(title)}</h2>{body_html}'
        '<p style="color:#666;font-size:12px">Sent by Plutomi.</p></body></html>'
    )


def login_code_email(to: str, code: str, minutes_valid: int) -> OutgoingEmail:
    return OutgoingEmail(
        to=to,
        subject=f"Your Plutomi login code: {code}",
        text=(
            f"Your Plutomi login code is {code}\n\n"
            f"It is valid for {minutes_valid} minutes and can be used once.\n"
            "If you did not ask for it, you can ignore this email.\n"
        ),
        html=html_layout(
            "Your login code",
            f'<p style="font-size:28px;letter-spacing:6px;font-weight:bold">{escape(code)}</p>'
            f"<p>It is valid for {minutes_valid} minutes and can be used once.</p>"
            "<p>If you did not ask for it, you can ignore this email.</p>",
        ),
        essential=True,
    )


def invite_email(
    to: str, org_display_name: str, inviter_email: str, role: str, accept_url: str
) -> OutgoingEmail:
    org, inviter, role = name_line(org_display_name), name_line(inviter_email, 254), name_line(role)
    return OutgoingEmail(
        to=to,
        subject=f"{inviter} invited you to {org} on Plutomi",
        text=(
            f"{inviter} invited you to join {org} on Plutomi as {role}.\n\n"
            f"Sign in with this email address to accept or decline: {accept_url}\n"
        ),
        html=html_layout(
            f"Join {org}",
            f"<p>{escape(inviter)} invited you to join <b>{bdi(org)}</b> as "
            f'{escape(role)}.</p><p><a href="{escape(accept_url, quote=True)}">Sign in to accept or '
            "decline</a> with this email address.</p>",
        ),
    )


def applicant_link_email(to: str, first_name: str, application_name: str, portal_url: str) -> OutgoingEmail:
    first, application = display_line(first_name, NAME_LENGTH), name_line(application_name)
    caution = "Keep it to yourself: anyone with the link can answer for you. A new link replaces this one."
    return OutgoingEmail(
        to=to,
        subject=f"Your application: {application}",
        text=(
            f"{f'Hi {first},' if first else 'Hi,'}\n\nThanks for applying to {application}. Your private "
            f"link to see where you are and answer the next questions:\n\n{portal_url}\n\n{caution}\n"
        ),
        html=html_layout(
            application,
            f"<p>{f'Hi {bdi(first)},' if first else 'Hi,'}</p>"
            f"<p>Thanks for applying to <b>{bdi(application)}</b>.</p>"
            f'<p><a href="{escape(portal_url, quote=True)}">Open your private application page</a></p>'
            f"<p>{escape(caution)}</p>",
        ),
        # The person just applied (or asked for their link again): applying is the only way to get it.
        essential=True,
    )
