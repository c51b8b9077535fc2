"""The start screen: what the kiosk is for, the two ways on, and the language picker."""

from __future__ import annotations

from ..flow import View
from ..i18n import N_, language_name
from .base import BigButton, Context, KioskScreen


class StartScreen(KioskScreen):
    def update(self, view: View, ctx: Context) -> None:
        tr, ids = ctx.tr, self.ids
        ids.title.text = tr(N_("Welcome"))
        ids.office.text = ctx.office_name
        ids.instruction.text = tr(
            N_("Show the QR code of your appointment to the camera, or take a number.")
        )
        notes = [] if view.camera_ok else [tr(N_("The camera is not working."))]
        if view.offline:  # kiosk/offline: the hub is away, reserved numbers are issued
            notes.append(tr(N_("Working offline: numbers are still issued.")))
        ids.camera_note.text = " ".join(notes)
        ids.scan.text = tr(N_("I have an appointment"))
        ids.walk_in.text = tr(N_("Take a number"))
        box = ids.languages
        if len(ctx.languages) < 2:
            box.clear_widgets()
            box.size_hint_y = 0.01
            return
        if [b.target for b in box.children] != [f"lang:{lang}" for lang in ctx.languages[::-1]]:
            box.clear_widgets()
            for lang in ctx.languages:
                box.add_widget(BigButton(text=language_name(lang), target=f"lang:{lang}"))
        for button in box.children:
            button.kind = "primary" if button.target == f"lang:{view.lang}" else "secondary"
