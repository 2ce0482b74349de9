"""Sends e-mail through the configured SMTP server (``BOARDROOM_SMTP_URL``) with aiosmtplib."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib


class SmtpSender:
    """Implements ``application.ports.EmailSender``.

    ``smtp://[user:password@]host[:port][?starttls=true]``, or ``smtps://`` for implicit TLS.
    """

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("BOARDROOM_SMTP_URL must look like smtp://host:port")
        query = parse_qs(parts.query)
        self._options = {
            "hostname": parts.hostname,
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "use_tls": parts.scheme == "smtps",
            "start_tls": query.get("starttls", ["false"])[0] == "true",
            "timeout": 10,
        }
        self._sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(message, **self._options)  # type: ignore[arg-type]
