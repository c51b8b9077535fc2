"""The scan screen: hold the appointment's QR code up to the camera."""

from __future__ import annotations

from ..flow import View
from ..i18n import N_
from .base import Context, KioskScreen
from .preview import CameraPreview

__all__ = ["CameraPreview", "ScanScreen"]


class ScanScreen(KioskScreen):
    def update(self, view: View, ctx: Context) -> None:
        tr, ids = ctx.tr, self.ids
        ids.title.text = tr(N_("Scan your appointment"))
        ids.instruction.text = tr(
            N_("Hold the QR code of your appointment inside the yellow frame.")
        )
        ids.camera_note.text = (
            ""
            if view.camera_ok
            else tr(N_("The camera is not working. You can take a number without appointment."))
        )
        ids.preview.opacity = 1 if view.camera_ok else 0.25
        ids.back.text = tr(N_("Back"))
        ids.walk_in.text = tr(N_("Take a number"))
