"""While the hub and the printer work: a short line, no buttons."""

from __future__ import annotations

from ..flow import View
from ..i18n import N_
from .base import Context, KioskScreen


class IssuingScreen(KioskScreen):
    def update(self, view: View, ctx: Context) -> None:
        self.ids.busy.text = view.busy.render(ctx.tr) if view.busy else ""
        self.ids.wait.text = ctx.tr(N_("Please wait a moment."))
