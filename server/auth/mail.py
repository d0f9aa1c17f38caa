"""Outgoing mail behind a small protocol: printed in development, SMTP in production.

Tests install their own sender through the ``mail_sender`` dependency (``server/auth/deps.py``).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol, TextIO

from server.config import Environment, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MailMessage:
    to: str
    subject: str
    text: str


class MailSender(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Deliver the message, or raise; callers log the failure and carry on."""


class ConsoleMailSender:
    """Development: each mail is printed whole, so the developer can open its link.

    It writes to a stream rather than to the log on purpose: the log scrubber redacts anything
    that looks like ``token=...``, which is right for every log line and useless here.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, message: MailMessage) -> None:
        stream = self._stream or sys.stderr
        rule = "-" * 72
        stream.write(
            f"{rule}\nMail (not sent, INTERVIEW_MAIL_BACKEND=log)\nTo: {message.to}\n"
            f"Subject: {message.subject}\n\n{message.text}\n{rule}\n"
        )
        stream.flush()


class DroppingMailSender:
    """Production without a mail backend: nothing leaves, and nothing secret reaches the log."""

    async def send(self, message: MailMessage) -> None:
        log.warning(
            "a mail (%r) was not sent: set INTERVIEW_MAIL_BACKEND=smtp and the SMTP settings",
            message.subject,
        )


class SmtpMailSender:
    """Sends through an SMTP server (STARTTLS, or implicit TLS on port 465), off the loop."""

    def __init__(self, settings: Settings) -> None:
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._username = settings.smtp_username
        self._password = settings.smtp_password.get_secret_value()
        self._starttls = settings.smtp_starttls
        self._from = settings.mail_from

    async def send(self, message: MailMessage) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: MailMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.text)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self._port == 465:
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=20, context=context)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=20)
        with smtp:
            if self._port != 465 and self._starttls:
                smtp.starttls(context=context)
            if self._username:
                smtp.login(self._username, self._password)
            smtp.send_message(mail)


def sender_for(settings: Settings) -> MailSender:
    if settings.mail_backend == "smtp":
        return SmtpMailSender(settings)
    if settings.env is Environment.production:
        return DroppingMailSender()
    return ConsoleMailSender()
