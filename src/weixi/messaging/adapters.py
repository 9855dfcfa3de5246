"""Channel adapters: how a message leaves Weixi.

* :class:`FileAdapter` (the embedded default): appends one JSON line per message to
  ``DATA/outbox/<channel>-YYYY-MM-DD.jsonl`` — for a demo, or for an operator whose SMS platform picks up files.
* :class:`SmtpAdapter`: e-mail over SMTP (``WEIXI_SMTP=host:port``, optional ``WEIXI_SMTP_FROM``,
  ``WEIXI_SMTP_USER``/``WEIXI_SMTP_PASSWORD``, ``WEIXI_SMTP_STARTTLS=1``).
* :class:`HttpSmsAdapter`: SMS through an HTTP gateway (``WEIXI_SMS_GATEWAY=https://host/path``, optional
  ``WEIXI_SMS_TOKEN`` sent as a Bearer token): ``POST`` JSON ``{"to", "text", "message_id"}`` with the
  ``Idempotency-Key`` header; a 2xx answer (JSON ``{"id": ...}`` optional) means accepted, 4xx is permanent,
  5xx and network errors are retried.

Every adapter's ``send`` returns the provider's id or raises :class:`weixi.messaging.outbox.DeliveryError`.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from weixi import settings
from weixi.errors import Invalid
from weixi.messaging.outbox import DeliveryError, message_id_header


class ChannelSetupError(Invalid, ValueError):
    """A channel configured wrongly (a server address that is not host:port): nothing is sent on it."""


TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    key: str
    channel: str
    recipient: str
    subject: str | None
    body: str
    at: datetime


class FileAdapter:
    name = "file"

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, m: Outgoing) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{m.channel}-{m.at.date().isoformat()}.jsonl"
        line = json.dumps(
            {
                "message_id": m.message_id,
                "idempotency_key": m.key,
                "channel": m.channel,
                "to": m.recipient,
                "subject": m.subject,
                "text": m.body,
                "at": m.at.isoformat(),
            },
            ensure_ascii=False,
        )
        try:
            with path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc.strerror or exc}") from None
        return f"{path.name}#{m.message_id}"


class SmtpAdapter:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls = user, password, starttls

    @classmethod
    def from_env(cls, spec: str) -> "SmtpAdapter":
        host, _, port = spec.rpartition(":")
        if not host or not port.isdigit():
            raise ChannelSetupError("smtp_server_spec_invalid", spec=spec)
        return cls(
            host,
            int(port),
            settings.SMTP_FROM.value(),
            settings.SMTP_USER.raw(),
            settings.SMTP_PASSWORD.raw(),
            settings.SMTP_STARTTLS.value(),
        )

    def send(self, m: Outgoing) -> str:
        msg = EmailMessage()
        msg["From"], msg["To"] = self.sender, m.recipient
        msg["Subject"] = m.subject or ""
        msg["Message-ID"] = message_id_header(m.key)
        msg["Date"] = format_datetime(m.at)
        msg.set_content(m.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"SMTP server {self.host}:{self.port} refused {m.recipient}: {_smtp_reason(exc.recipients)}",
                permanent=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(
                f"SMTP server {self.host}:{self.port} answered {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=permanent,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP server {self.host}:{self.port} unreachable ({_oserror(exc)})") from None
        if refused:
            raise DeliveryError(f"SMTP server refused {m.recipient}: {_smtp_reason(refused)}", permanent=True)
        return msg["Message-ID"]


class HttpSmsAdapter:
    name = "http"

    def __init__(self, url: str, token: str | None = None):
        self.url, self.token = url, token

    def send(self, m: Outgoing) -> str:
        body = json.dumps({"to": m.recipient, "text": m.body, "message_id": m.key}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": m.key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace")
            raise DeliveryError(
                f"SMS gateway {self.url} answered {exc.code} {detail}".strip(),
                permanent=400 <= exc.code < 500 and exc.code not in (408, 429),
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"SMS gateway {self.url} unreachable ({_oserror(reason)})") from None
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        return str(answer.get("id") or answer.get("message_id") or m.key) if isinstance(answer, dict) else m.key


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _smtp_reason(recipients: dict) -> str:
    return "; ".join(f"{r}: {code} {_text(msg)}" for r, (code, msg) in recipients.items())


def _oserror(exc) -> str:
    if isinstance(exc, socket.timeout):
        return f"no answer in {TIMEOUT_SECONDS} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def from_env(data_dir: Path, channel: str, sms_gateway: str | None = None, smtp: str | None = None):
    """The adapter for ``channel``: SMS -> HTTP gateway when configured, e-mail -> SMTP when configured,
    otherwise (and for WeChat) the file adapter under DATA/outbox."""
    sms_gateway = sms_gateway or settings.SMS_GATEWAY.raw()
    smtp = smtp or settings.SMTP.raw()
    if channel == "sms" and sms_gateway:
        return HttpSmsAdapter(sms_gateway, settings.SMS_TOKEN.raw())
    if channel == "email" and smtp:
        return SmtpAdapter.from_env(smtp)
    return FileAdapter(Path(data_dir) / "outbox")
