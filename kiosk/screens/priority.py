"""The optional priority step: reduced mobility, pregnancy, ... or "No, thanks"."""

from __future__ import annotations

from ..flow import View, priority_name
from ..i18n import N_
from .base import BigButton, Context, KioskScreen


class PriorityScreen(KioskScreen):
    def update(self, view: View, ctx: Context) -> None:
        tr, ids = ctx.tr, self.ids
        ids.title.text = tr(N_("Do you need priority?"))
        ids.hint.text = tr(N_("Staff may ask you to show that you qualify."))
        ids.back.text = tr(N_("Back"))
        ids.none.text = tr(N_("No, thanks"))
        grid = ids.grid
        grid.clear_widgets()
        for category in ctx.priorities:
            grid.add_widget(
                BigButton(text=tr(priority_name(category)), target=f"priority:{category}")
            )
