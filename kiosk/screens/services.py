"""Services for a walk-in number: one big button each, named in the citizen's language."""

from __future__ import annotations

from ..flow import View
from ..i18n import N_
from .base import BigButton, Context, KioskScreen

# Icon names of the configuration, drawn as a symbol every DejaVu font has.
ICONS = {
    "info": "ℹ",
    "document": "✎",
    "euro": "€",
    "id": "☺",
    "calendar": "☷",
    "home": "⌂",
    "phone": "☎",
    "mail": "✉",
}


class ServicesScreen(KioskScreen):
    def update(self, view: View, ctx: Context) -> None:
        tr, ids = ctx.tr, self.ids
        ids.title.text = tr(N_("What do you need?"))
        ids.hint.text = tr(N_("Choose a service to take a number."))
        ids.back.text = tr(N_("Back"))
        grid = ids.grid
        grid.clear_widgets()
        if len(ctx.services) > 4:
            grid.cols = 2
        for service in ctx.services:
            icon = ICONS.get(service.icon, "")
            label = service.name(view.lang)
            grid.add_widget(
                BigButton(
                    text=f"{icon}  {label}" if icon else label,
                    target=f"service:{service.id}",
                    kind="primary",
                )
            )
