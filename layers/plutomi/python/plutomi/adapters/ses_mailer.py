"""Sends email through SES (API v2) as raw MIME: a text and an HTML part, plus any extra headers.

`build_mime` is the one place a message is put together, so it is where whatever an email carries
(names people typed, or stored before the text rules) is made safe for MIME. Every header value goes
through `header_value` (addresses through `display_line`): no CR, LF or other control characters, so
nothing can add a header or a recipient; a bounded length; a literal `=?` broken up. Both bodies go
through `body_text`. The email package's default policy then encodes non-ASCII headers as RFC 2047
encoded words and folds them, and picks a transfer encoding for the UTF-8 bodies, so the message is
ASCII. Nothing a user typed can make it raise.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

from plutomi.domain.emails import OutgoingEmail
from plutomi.domain.text import body_text, display_line, header_value

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

SUBJECT_LENGTH = 200
HEADER_LENGTH = 900  # RFC 5322 lines stop at 998 characters; folding keeps encoded ones shorter


def build_mime(sender: str, email: OutgoingEmail) -> bytes:
    message = EmailMessage()
    message["Subject"] = header_value(email.subject, SUBJECT_LENGTH)
    # Addresses keep any `=?` they have (it is legal in a local part); they are on one line all the same.
    message["From"] = display_line(sender, HEADER_LENGTH)
    message["To"] = display_line(email.to, HEADER_LENGTH)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    for name, value in email.headers.items():
        message[name] = header_value(value, HEADER_LENGTH)
    message.set_content(body_text(email.text))
    message.add_alternative(body_text(email.html), subtype="html")
    return message.as_bytes()


class SesMailer:
    def __init__(self, client: SESV2Client, sender: str, configuration_set: str | None) -> None:
        self._client = client
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, email: OutgoingEmail) -> str:
        request: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {"Raw": {"Data": build_mime(self._sender, email)}},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        response = self._client.send_email(**request)
        return response["MessageId"]

    def ensure_sender_identity(self) -> None:
        """Creates the sender identity if missing (for the local endpoint; on AWS the stack owns it)."""
        address = self._sender.rsplit("<", 1)[-1].rstrip(">").strip()
        try:
            self._client.get_email_identity(EmailIdentity=address)
        except self._client.exceptions.NotFoundException:
            self._client.create_email_identity(EmailIdentity=address)
