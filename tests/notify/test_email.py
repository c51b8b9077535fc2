"""E-mail about appointments through a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

import pytest
import requests
import zxingcpp
from PIL import Image

from hub.notify_email import EmailContent, compose, environment
from hub.outbox import mask_email
from office360.appointments_import import content_lines, unescape_text
from tests.appointments.apptools import TUESDAY, booked, slot_at, token_of
from tests.hubtools import FakeClock, ThreadHub, free_port
from tests.notify.receiver import wait_for
from tests.notify.smtp import Mailbox, running_smtp

MakeHub = Callable[[str], ThreadHub]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    yield from _serve(smtp_port, box)


def _serve(port: int, box: Mailbox) -> Iterator[Mailbox]:
    for _ in running_smtp(port, box):
        yield box


def email_config(port: int, extra: str = "") -> str:
    return f"""
[notifications]
poll_s = 0.1
retry_base_s = 1
retry_max_s = 2

[notifications.email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "none"
sender = "Oficina 360 <citas@example.org>"
reminder_hours_before = 2
{extra}
"""


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    """content type -> the part (the first of each)."""
    out: dict[str, EmailMessage] = {}
    for part in message.walk():
        out.setdefault(part.get_content_type(), part)  # type: ignore[arg-type]
    return out


def ics_props(text: str) -> dict[str, str]:
    return {line.name: unescape_text(line.value) for line in content_lines(text)}


def qr_in(message: EmailMessage) -> str:
    html = parts(message)["text/html"].get_content()
    png = parts(message)["image/png"]
    cid = png["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html, "the HTML does not show the inline image"
    assert png.get_content_disposition() == "inline"
    results = zxingcpp.read_barcodes(Image.open(BytesIO(png.get_content())))
    assert len(results) == 1
    return str(results[0].text)


def test_booking_confirmation_reminder_reschedule_and_cancellation(
    make_hub: MakeHub, mailbox: Mailbox, smtp_port: int, clock: FakeClock
) -> None:
    hub = make_hub(email_config(smtp_port))
    appointment = booked(hub, "10:00", day=TUESDAY, email="maria@example.org", lang="es")
    wait_for(lambda: len(mailbox.messages) == 1, what="the confirmation")
    confirmation = mailbox.messages[0]
    assert confirmation["To"] == "maria@example.org"
    assert confirmation["From"] == "Oficina 360 <citas@example.org>"
    assert confirmation["Subject"].strip() == (
        "Cita confirmada: Información general, martes, 3 de marzo de 2026 a las 10:00"
    )
    text = parts(confirmation)["text/plain"].get_content()
    assert "Hola, J. P.:" in text and "de 10:00 a 10:15" in text
    assert qr_in(confirmation) == appointment["code"]
    ics = [p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(ics) == 1 and ics[0].get_filename() == "cita.ics"
    props = ics_props(ics[0].get_content())
    assert props["DTSTART"] == "20260303T090000Z" and props["STATUS"] == "CONFIRMED"
    assert props["UID"].startswith(f"appointment-{appointment['id']}@")

    clock.advance(hours=22, minutes=31)  # Tuesday 07:01 UTC: two hours before the slot
    wait_for(lambda: len(mailbox.messages) == 2, what="the reminder")
    reminder = mailbox.messages[1]
    assert reminder["Subject"].strip().startswith("Recordatorio: cita martes, 3 de marzo de 2026")
    assert qr_in(reminder) == appointment["code"]
    assert not [p for p in reminder.iter_attachments() if p.get_content_type() == "text/calendar"]

    token = token_of(appointment)
    moved = requests.post(
        f"{hub.url}/api/v1/appointments/{appointment['id']}/reschedule",
        params={"t": token},
        json={"slot_at": slot_at(hub, "11:00", day=TUESDAY)},
        timeout=5,
    )
    assert moved.status_code == 200, moved.text
    wait_for(lambda: len(mailbox.messages) == 3, what="the reschedule notice")
    notice = mailbox.messages[2]
    assert notice["Subject"].endswith("a las 11:00")
    assert qr_in(notice) == moved.json()["code"] != appointment["code"]
    (new_ics,) = [p for p in notice.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert ics_props(new_ics.get_content())["SEQUENCE"] == "1"

    cancelled = requests.post(
        f"{hub.url}/api/v1/appointments/{appointment['id']}/cancel", params={"t": token}, timeout=5
    )
    assert cancelled.status_code == 200
    wait_for(lambda: len(mailbox.messages) == 4, what="the cancellation")
    cancel_notice = mailbox.messages[3]
    assert cancel_notice["Subject"].strip().startswith("Cita anulada")
    assert "image/png" not in parts(cancel_notice)
    (cancel_ics,) = [
        p for p in cancel_notice.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    assert ics_props(cancel_ics.get_content())["STATUS"] == "CANCELLED"
    # The reminder for the moved slot was cancelled with the appointment; the log is masked.
    clock.advance(hours=3)
    log = requests.get(
        f"{hub.url}/api/v1/webhooks/deliveries",
        params={"kind": "email"},
        headers=hub.headers("admin"),
        timeout=5,
    ).json()
    assert log["counts"] == {"sent": 4, "cancelled": 1}
    assert {d["destination"] for d in log["deliveries"]} == {"m•••@e•••.org"}
    assert len(mailbox.messages) == 4


def test_english_booking_gets_english_mail(
    make_hub: MakeHub, mailbox: Mailbox, smtp_port: int
) -> None:
    hub = make_hub(email_config(smtp_port))
    booked(hub, "12:30", day=TUESDAY, email="john@example.org", lang="en")
    wait_for(lambda: len(mailbox.messages) == 1, what="the confirmation")
    message = mailbox.messages[0]
    # long subjects are folded onto the next line; readers unfold them
    assert message["Subject"].strip() == (
        "Appointment confirmed: General information, Tuesday 3 March 2026 at 12:30"
    )
    assert message["Content-Language"] == "en"
    (ics,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert ics.get_filename() == "appointment.ics"


def test_smtp_down_then_back_delivers_once(
    make_hub: MakeHub, smtp_port: int, clock: FakeClock
) -> None:
    hub = make_hub(email_config(smtp_port, ""))
    booked(hub, "10:00", day=TUESDAY, email="maria@example.org")

    def attempted() -> bool:
        r = requests.get(
            f"{hub.url}/api/v1/webhooks/deliveries",
            params={"kind": "email", "status": "pending"},
            headers=hub.headers("admin"),
            timeout=5,
        )
        return any(d["attempts"] >= 1 and d["last_error"] for d in r.json()["deliveries"])

    wait_for(attempted, what="a failed attempt")
    box = Mailbox()
    for _ in _serve(smtp_port, box):
        wait_for(
            lambda: len(box.messages) >= 1, what="delivery", tick=lambda: clock.advance(seconds=1)
        )
        assert len(box.messages) == 1
        assert box.messages[0]["X-Office360-Delivery"].startswith("email:confirmation:")


def test_refused_recipient_fails_without_retry(
    make_hub: MakeHub, mailbox: Mailbox, smtp_port: int
) -> None:
    mailbox.refuse = "550 5.1.1 no such user"
    hub = make_hub(email_config(smtp_port))
    booked(hub, "10:00", day=TUESDAY, email="nobody@example.org")

    def failed() -> list[dict[str, object]]:
        r = requests.get(
            f"{hub.url}/api/v1/webhooks/deliveries",
            params={"kind": "email", "status": "failed"},
            headers=hub.headers("admin"),
            timeout=5,
        )
        return list(r.json()["deliveries"])

    wait_for(lambda: len(failed()) == 1, what="a failed confirmation")
    (d,) = failed()
    assert d["attempts"] == 1 and "550" in str(d["last_error"])


def test_composer_with_an_office_override(tmp_path: Path) -> None:
    """The composer alone, on a synthetic appointment, with the office's own subject line."""
    (tmp_path / "confirmation.es.txt").write_text(
        "Subject: Ayuntamiento: cita el {{ date }}\nHola {{ name }}.\n", encoding="utf-8"
    )
    content = EmailContent(
        kind="confirmation",
        lang="es",
        to="a@example.org",
        context={
            "office": "Oficina <Centro>",
            "service": "Padrón & censo",
            "name": "<b>Ana</b>",
            "date": "martes, 3 de marzo de 2026",
            "time": "10:00",
            "end_time": "10:15",
            "video_url": None,
        },
        qr_text="O360-TEST-CODE",
        ics="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    )
    message = compose(environment(tmp_path), content, "x@example.org")
    assert message["Subject"] == "Ayuntamiento: cita el martes, 3 de marzo de 2026"
    assert parts(message)["text/plain"].get_content().strip() == "Hola <b>Ana</b>."
    html = parts(message)["text/html"].get_content()  # the built-in HTML, escaped
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html and "Padrón &amp; censo" in html
    assert qr_in(message) == "O360-TEST-CODE"
    assert datetime.now(UTC).year >= 2026


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("maria.lopez@example.org", "m•••@e•••.org"),
        ("a@b.es", "a•••@b•••.es"),
        ("x@localhost", "x•••@l•••"),
        ("broken", "•••"),
    ],
)
def test_email_addresses_are_masked(address: str, masked: str) -> None:
    assert mask_email(address) == masked
