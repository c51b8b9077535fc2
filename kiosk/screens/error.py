"""A refused code or request: the reason, what to do next, and buttons for it."""

from __future__ import annotations

from ..flow import Action, View
from ..i18n import N_
from .base import BigButton, Context, KioskScreen

ACTION_LABELS = {
    Action.WALK_IN: N_("Take a number"),
    Action.SCAN_AGAIN: N_("Scan again"),
    Action.HOME: N_("Back to start"),
}


class ErrorScreen(KioskScreen):
    def update(self, view: View, ctx: Context) -> None:
        error = view.error
        if error is None:
            return
        tr, ids = ctx.tr, self.ids
        ids.message.text = error.message.render(tr)
        ids.hint.text = error.hint.render(tr)
        box = ids.actions
        box.clear_widgets()
        for i, action in enumerate(error.actions):
            box.add_widget(
                BigButton(
                    text=tr(ACTION_LABELS[action]),
                    target=f"action:{action.value}",
                    kind="primary" if i == 0 else "secondary",
                )
            )
