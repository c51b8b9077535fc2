"""The hub is unreachable: say so plainly while the kiosk retries with back-off."""

from __future__ import annotations

from ..flow import View
from ..i18n import N_
from .base import Context, KioskScreen


class UnavailableScreen(KioskScreen):
    def update(self, view: View, ctx: Context) -> None:
        tr, ids = ctx.tr, self.ids
        ids.title.text = tr(N_("Temporarily unavailable"))
        ids.text.text = tr(
            N_(
                "We cannot give out numbers right now. Please wait a moment, or ask at the information desk."
            )
        )
        seconds = round(view.retry_in_s or 0)
        ids.retry.text = tr(
            N_("Trying again by itself in {seconds} s (attempt {attempt}).")
        ).format(seconds=max(1, seconds), attempt=view.attempts)
