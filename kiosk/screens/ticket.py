"""The ticket: printed, or on the phone through the QR of its live status page."""

from __future__ import annotations

from kivy.app import App

from ..flow import TicketView, View, printer_problem_text, wait_minutes
from ..i18n import N_
from ..qrimage import qr_texture
from .base import Context, KioskScreen


class TicketScreen(KioskScreen):
    _qr_for = ""

    def update(self, view: View, ctx: Context) -> None:
        ticket = view.ticket
        if ticket is None:
            return
        tr, ids = ctx.tr, self.ids
        ids.your_number.text = tr(N_("Your number is"))
        ids.number.text = ticket.number
        ids.service.text = ticket.service_name(view.lang)
        sentence = tr(N_("Please wait; you will be called on the screen."))
        ids.sentence.text = f"{tr(ticket.note)} {sentence}" if ticket.note else sentence
        ids.position.text = _position(ticket, tr)
        # An offline ticket has no status page (it needs the hub): no QR then.
        show_qr = (ctx.offer_phone_qr or ticket.printed is False) and bool(ticket.status_url)
        if ticket.printed is False:
            follow = (
                N_("Scan this code with your phone to follow your turn.")
                if ticket.status_url
                else N_("Please remember your number.")
            )
            ids.problem.text = (
                tr(printer_problem_text(ticket.printer_problem or "")) + " " + tr(follow)
            )
        elif ticket.printed:
            ids.problem.text = tr(N_("Take your ticket from the printer."))
        else:
            ids.problem.text = ""
        theme = App.get_running_app().theme
        ids.problem.color = theme.alert if ticket.printed is False else theme.accent
        ids.qr_caption.text = tr(N_("Follow your turn on your phone")) if show_qr else ""
        ids.qr_box.opacity = 1 if show_qr else 0
        if show_qr and ticket.status_url and ticket.status_url != self._qr_for:
            ids.qr.texture = qr_texture(ticket.status_url)
            self._qr_for = ticket.status_url
        ids.done.text = tr(N_("Done"))


def _position(ticket: TicketView, tr: object) -> str:
    translate = tr if callable(tr) else str
    parts = []
    if ticket.position == 1:
        parts.append(translate(N_("You are next.")))
    elif ticket.position is not None:
        ahead = ticket.position - 1
        parts.append(translate(N_("People ahead of you: {count}")).format(count=ahead))
    minutes = wait_minutes(ticket.estimated_wait_s)
    if minutes is not None:
        parts.append(translate(N_("Estimated wait: {minutes} min")).format(minutes=minutes))
    return "\n".join(parts)
