"""E-mail to citizens about their appointment: composed from Jinja2 templates, sent over SMTP.

Templates live in hub/notify_templates/ as ``{kind}.{lang}.txt`` (first line ``Subject: ...``)
and ``{kind}.{lang}.html``; a file of the same name in ``[notifications.email] templates_dir``
replaces the built-in one. Kinds: confirmation, reminder, rescheduled, cancelled.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from office360.config import EmailSettings, OfficeSettings

BUILT_IN = Path(__file__).with_name("notify_templates")
KINDS = ("confirmation", "reminder", "rescheduled", "cancelled")
LANGS = ("es", "en")
QR_CID_DOMAIN = "office360"


class TemplateMissing(Exception):
    pass


@dataclass(frozen=True)
class EmailContent:
    """Everything one message needs, gathered inside a database transaction; composing and
    sending happen later, in a sender thread."""

    kind: str
    lang: str
    to: str
    context: dict[str, Any]
    qr_text: str | None = None
    ics: str | None = None
    ics_name: str = "appointment.ics"
    headers: dict[str, str] = field(default_factory=dict)


def environment(templates_dir: Path | None) -> jinja2.Environment:
    folders = [str(templates_dir)] if templates_dir else []
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, str(BUILT_IN)]),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def appointment_context(
    office: OfficeSettings,
    service_names: dict[str, str],
    lang: str,
    name: str,
    slot_at: datetime,
    slot_minutes: int,
    video_url: str | None,
) -> dict[str, Any]:
    from .web.booking_text import long_date

    local = slot_at.astimezone(ZoneInfo(office.timezone))
    words = lang if lang in LANGS else "es"
    return {
        "office": office.name,
        "service": service_names.get(lang) or next(iter(service_names.values()), ""),
        "name": name,
        "date": long_date(local.date(), words),
        "time": local.strftime("%H:%M"),
        "end_time": (local + timedelta(minutes=slot_minutes)).strftime("%H:%M"),
        "video_url": video_url,
    }


def pick_lang(env: jinja2.Environment, kind: str, lang: str) -> str:
    for candidate in (lang, "es", "en"):
        try:
            env.get_template(f"{kind}.{candidate}.txt")
        except jinja2.TemplateNotFound:
            continue
        return candidate
    raise TemplateMissing(f"no template {kind}.{lang}.txt")


def compose(env: jinja2.Environment, content: EmailContent, sender: str) -> EmailMessage:
    """The message: plain text and HTML alternatives, the QR code inline, the .ics attached."""
    from .web.qr import qr_png

    lang = pick_lang(env, content.kind, content.lang)
    cid = make_msgid("qr", domain=QR_CID_DOMAIN)
    context = {**content.context, "qr": content.qr_text is not None, "qr_cid": cid[1:-1]}
    text = env.get_template(f"{content.kind}.{lang}.txt").render(context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateMissing(f"{content.kind}.{lang}.txt must start with 'Subject: ...'")
    html = env.get_template(f"{content.kind}.{lang}.html").render(context)
    msg = EmailMessage()
    msg["Subject"] = first.removeprefix("Subject:").strip()
    msg["From"] = sender
    msg["To"] = content.to
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=_domain(sender))
    for name, value in content.headers.items():
        msg[name] = value
    msg.set_content(body.lstrip("\n"))
    msg.add_alternative(html, subtype="html")
    if content.qr_text is not None:
        html_part = msg.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            qr_png(content.qr_text, box_size=6),
            maintype="image",
            subtype="png",
            cid=cid,
            disposition="inline",
            filename="qr.png",
        )
    if content.ics is not None:
        msg.add_attachment(
            content.ics.encode(),
            maintype="text",
            subtype="calendar",
            filename=content.ics_name,
            params={"method": "PUBLISH"},
        )
    msg["Content-Language"] = lang  # last: set_content() drops Content-* headers
    return msg


def _domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or "office360.local"


def password(config: EmailSettings) -> str:
    if config.password_file:
        return config.password_file.read_text(encoding="utf-8").strip()
    if config.password_env:
        return os.environ.get(config.password_env, "")
    return ""


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer): retrying gives the same."""


def send(config: EmailSettings, message: EmailMessage) -> None:
    """One SMTP session. Raises PermanentFailure for 5xx refusals; other errors are temporary."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config.security == "tls":
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
    try:
        with smtp:
            if config.security == "starttls":
                smtp.starttls(context=context)
            if config.user:
                smtp.login(config.user, password(config))
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        if any(code < 500 for code, _ in exc.recipients.values()):
            raise  # 4xx: greylisting or a full mailbox, worth another try
        raise PermanentFailure(f"recipient refused: {_first_answer(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from None
        raise


def _first_answer(recipients: dict[str, tuple[int, bytes]]) -> str:
    for code, text in recipients.values():
        return f"{code} {text.decode(errors='replace')}"
    return ""
