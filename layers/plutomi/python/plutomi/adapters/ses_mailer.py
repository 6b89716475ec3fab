"""Sends email through SES (API v2) as raw MIME: a text and an HTML part, plus any extra headers."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

from plutomi.domain.emails import OutgoingEmail

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client


def build_mime(sender: str, email: OutgoingEmail) -> bytes:
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = email.to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
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
