"""The emails Plutomi sends, rendered from event data. Pure: text in, text out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from html import escape


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    # Essential: the person asked for it just now (a login code, the link to the application they just
    # applied to), so it is sent even after they unsubscribed; never to an address that bounced or
    # complained. Everything else (invitations) stops when they unsubscribe.
    essential: bool = False


UNSUBSCRIBE_TEXT = (
    "To stop invitations and other email you did not ask for, unsubscribe: {url}\n"
    "Email you ask for, such as login codes and your application link, still arrives.\n"
)


def with_unsubscribe(email: OutgoingEmail, url: str) -> OutgoingEmail:
    """The email with an unsubscribe link in its text and HTML and the List-Unsubscribe headers
    (RFC 2369), including one-click unsubscribe by POST (RFC 8058)."""
    footer_html = (
        '<p style="color:#666;font-size:12px">'
        f'<a href="{escape(url, quote=True)}">Unsubscribe</a> from invitations and other email you did '
        "not ask for. Email you ask for, such as login codes and your application link, still arrives.</p>"
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


def _layout(title: str, body_html: str) -> str:
    return (
        '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#111">'
        f'<h2 style="margin:0 0 16px">{escape(title)}</h2>{body_html}'
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
        html=_layout(
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
    return OutgoingEmail(
        to=to,
        subject=f"{inviter_email} invited you to {org_display_name} on Plutomi",
        text=(
            f"{inviter_email} invited you to join {org_display_name} on Plutomi as {role}.\n\n"
            f"Sign in with this email address to accept or decline: {accept_url}\n"
        ),
        html=_layout(
            f"Join {org_display_name}",
            f"<p>{escape(inviter_email)} invited you to join <b>{escape(org_display_name)}</b> as "
            f'{escape(role)}.</p><p><a href="{escape(accept_url, quote=True)}">Sign in to accept or '
            "decline</a> with this email address.</p>",
        ),
    )


def applicant_link_email(to: str, first_name: str, application_name: str, portal_url: str) -> OutgoingEmail:
    greeting = f"Hi {first_name}," if first_name else "Hi,"
    caution = "Keep it to yourself: anyone with the link can answer for you. A new link replaces this one."
    return OutgoingEmail(
        to=to,
        subject=f"Your application: {application_name}",
        text=(
            f"{greeting}\n\nThanks for applying to {application_name}. Your private link to see where "
            f"you are and answer the next questions:\n\n{portal_url}\n\n{caution}\n"
        ),
        html=_layout(
            application_name,
            f"<p>{escape(greeting)}</p><p>Thanks for applying to <b>{escape(application_name)}</b>.</p>"
            f'<p><a href="{escape(portal_url, quote=True)}">Open your private application page</a></p>'
            f"<p>{escape(caution)}</p>",
        ),
        # The person just applied (or asked for their link again): applying is the only way to get it.
        essential=True,
    )
