"""The call board screen: shows a BoardState. Layout in display/kv/board.kv."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from .. import speech
from ..board import BoardState, Call, Waiting
from ..theme import Theme

TICKER_SPEED = 0.12  # screen heights per second


class CallRow(BoxLayout):
    number = StringProperty("")
    desk = StringProperty("")
    unit = NumericProperty(10)
    font_bold = StringProperty("Roboto")
    font_regular = StringProperty("Roboto")
    text_color = ColorProperty((1, 1, 1, 1))
    dim_color = ColorProperty((1, 1, 1, 1))


class WaitingCell(BoxLayout):
    service_name = StringProperty("")
    count_text = StringProperty("")
    wait_text = StringProperty("")
    unit = NumericProperty(10)
    font_bold = StringProperty("Roboto")
    font_regular = StringProperty("Roboto")
    text_color = ColorProperty((1, 1, 1, 1))
    dim_color = ColorProperty((1, 1, 1, 1))
    outline_color = ColorProperty((0, 0, 0, 1))


@dataclass
class BoardLayout:
    """What the screen needs from the settings, read once at start."""

    office_name: str
    languages: tuple[str, ...] = ("es", "en")
    landscape: bool = True
    last_calls: int = 5
    show_waiting: bool = True
    show_estimates: bool = True
    blink_s: float = 6.0
    timezone: str = "Europe/Madrid"
    service_names: dict[str, str] = field(default_factory=dict)
    service_order: tuple[str, ...] = ()


class BoardScreen(Screen):
    unit = NumericProperty(10)
    landscape = BooleanProperty(True)
    office_name = StringProperty("")
    clock_text = StringProperty("")
    connection_text = StringProperty("")
    calling_heading = StringProperty("")
    last_calls_heading = StringProperty("")
    idle_text = StringProperty("")
    current_number = StringProperty("")
    current_desk = StringProperty("")
    blink_on = BooleanProperty(False)
    message = StringProperty("")
    ticker_x = NumericProperty(0)
    show_waiting = BooleanProperty(True)
    show_previous = BooleanProperty(True)
    font_bold = StringProperty("Roboto")
    font_regular = StringProperty("Roboto")
    bg = ColorProperty((0, 0, 0, 1))
    fg = ColorProperty((1, 1, 1, 1))
    dim = ColorProperty((1, 1, 1, 1))
    accent = ColorProperty((1, 1, 0, 1))
    alert = ColorProperty((1, 0.5, 0, 1))
    alert_fg = ColorProperty((0, 0, 0, 1))
    outline = ColorProperty((0, 0, 0, 1))

    def __init__(self, layout: BoardLayout, theme: Theme, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layout = layout
        self._zone = ZoneInfo(layout.timezone)
        self._shown_calls = 0
        self._previous: tuple[Call, ...] = ()
        self._waiting: tuple[Waiting, ...] | None = None
        self._rows: list[CallRow] = []
        self._cells: dict[str, WaitingCell] = {}
        self._blink_event: Any = None
        self._blink_stop: Any = None
        self._ticker_event: Any = None
        self.office_name = layout.office_name
        self.landscape = layout.landscape
        self.show_waiting = layout.show_waiting
        self.show_previous = layout.last_calls > 0
        self.calling_heading = speech.heading("calling", layout.languages)
        self.last_calls_heading = speech.heading("last_calls", layout.languages)
        self.idle_text = speech.heading("no_calls", layout.languages, sep="\n")
        self.apply_theme(theme)
        self.bind(size=self._resize)
        self._tick_clock()
        Clock.schedule_interval(self._tick_clock, 1.0)

    def apply_theme(self, theme: Theme) -> None:
        self.bg, self.fg, self.dim = theme.background, theme.text, theme.dim
        self.accent, self.alert, self.alert_fg = theme.accent, theme.alert, theme.alert_text
        self.outline = theme.outline
        self.font_bold, self.font_regular = theme.font_bold, theme.font_regular

    # --- showing a state -----------------------------------------------------------------------

    def show(self, state: BoardState) -> None:
        current = state.current
        self.current_number = current.number if current else ""
        self.current_desk = current.desk_name if current else ""
        if state.previous != self._previous:
            self._previous = state.previous
            self._fill_previous()
        if state.waiting != self._waiting:
            self._waiting = state.waiting
            self._fill_waiting()
        lost = state.connection == "reconnecting"  # not at start-up's first "connecting"
        self.connection_text = speech.heading("reconnecting", self.layout.languages) if lost else ""
        if state.message != self.message:
            self.message = state.message
            self._restart_ticker()
        if state.calls != self._shown_calls:
            self._shown_calls = state.calls
            self._blink()

    def _fill_previous(self) -> None:
        """Rows are made once and refilled: a call changes a few textures, not the widget tree."""
        box = self.ids.previous_box
        if not self._rows:
            for _ in range(self.layout.last_calls):
                row = CallRow()
                row.font_bold, row.font_regular = self.font_bold, self.font_regular
                row.text_color, row.dim_color = self.fg, self.dim
                self._rows.append(row)
                box.add_widget(row)
            box.add_widget(Widget())  # rows stack from the top
        scale = min(1.0, 5 / max(4, self.layout.last_calls))
        for index, row in enumerate(self._rows):
            call = self._previous[index] if index < len(self._previous) else None
            row.unit = self.unit * scale
            # a numbered desk fits as its number; the current call spells out the full name
            row.number = call.number if call else ""
            row.desk = (call.desk if call.desk.isdigit() else call.desk_name) if call else ""
            row.opacity = 1 if call else 0

    def _fill_waiting(self) -> None:
        box = self.ids.waiting_box
        by_service = {w.service: w for w in self._waiting or ()}
        order = list(self.layout.service_order) or list(by_service)
        order += [s for s in by_service if s not in order]
        label = speech.heading("waiting", self.layout.languages[:1])
        for service in order:
            waiting = by_service.get(service)
            if waiting is None:
                continue
            cell = self._cells.get(service)
            if cell is None:
                cell = WaitingCell(service_name=self.layout.service_names.get(service, service))
                cell.font_bold, cell.font_regular = self.font_bold, self.font_regular
                cell.text_color, cell.dim_color = self.fg, self.dim
                cell.outline_color = self.outline
                self._cells[service] = cell
                box.add_widget(cell)
            cell.unit = self.unit
            cell.count_text = f"{waiting.waiting} {label}"
            show_wait = self.layout.show_estimates and waiting.waiting
            cell.wait_text = speech.wait_text(waiting.estimated_wait_s) if show_wait else ""

    # --- motion ----------------------------------------------------------------------------

    def _blink(self) -> None:
        for event in (self._blink_event, self._blink_stop):
            if event is not None:
                event.cancel()
        if self.layout.blink_s <= 0:
            self.blink_on = False
            return
        self.blink_on = True
        self._blink_event = Clock.schedule_interval(self._toggle_blink, 0.5)
        self._blink_stop = Clock.schedule_once(self._end_blink, self.layout.blink_s)

    def _toggle_blink(self, _dt: float) -> None:
        self.blink_on = not self.blink_on

    def _end_blink(self, _dt: float) -> None:
        if self._blink_event is not None:
            self._blink_event.cancel()
        self.blink_on = False

    def _restart_ticker(self) -> None:
        if self._ticker_event is not None:
            self._ticker_event.cancel()
            self._ticker_event = None
        self.ticker_x = self.width
        if self.message:
            self._ticker_event = Clock.schedule_interval(self._scroll, 1 / 30)

    def _scroll(self, dt: float) -> None:
        ticker = self.ids.ticker
        self.ticker_x -= TICKER_SPEED * self.height * dt
        if self.ticker_x + ticker.width < 0:
            self.ticker_x = self.width

    def _tick_clock(self, _dt: float = 0) -> None:
        self.clock_text = datetime.now(UTC).astimezone(self._zone).strftime("%H:%M")

    def _resize(self, *_args: Any) -> None:
        self.unit = min(self.width, self.height) / 100
        self._fill_previous()
        self._fill_waiting()
