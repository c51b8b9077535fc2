"""The kiosk's view-model: what the citizen sees and what the kiosk must do next. No Kivy here.

`KioskFlow` holds a `View` (the screen and what it shows). Each event the app receives (a touch,
a code read, an answer from the hub or the printer, a timer tick) is a method call that updates
the view and returns the commands the app must carry out off the UI thread (`IssueTicket`,
`CheckIn`, `PrintTicket`, `LoadServices`) or at once (`Beep`). Results come back as further
method calls carrying the command's `key`; an answer to a request the citizen has since left
(time-out, back to start) is dropped.

Text is held as message ids (English sentences, see i18n.py) with their parameters; the screens
translate them into the chosen language.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from .i18n import N_


class Screen(StrEnum):
    START = "start"
    SCAN = "scan"
    SERVICES = "services"
    PRIORITY = "priority"
    ISSUING = "issuing"
    TICKET = "ticket"
    ERROR = "error"
    UNAVAILABLE = "unavailable"


class Action(StrEnum):
    """Buttons an error screen offers."""

    WALK_IN = "walk_in"
    SCAN_AGAIN = "scan_again"
    HOME = "home"


@dataclass(frozen=True)
class Msg:
    """A message id and its parameters, translated and formatted where it is shown."""

    text: str
    params: tuple[tuple[str, Any], ...] = ()

    def render(self, tr: Callable[[str], str]) -> str:
        values = {k: tr(v.text) if isinstance(v, Msg) else v for k, v in self.params}
        return tr(self.text).format(**values) if values else tr(self.text)


def msg(text: str, **params: Any) -> Msg:
    return Msg(text, tuple(sorted(params.items())))


@dataclass(frozen=True)
class ServiceChoice:
    id: str
    names: Mapping[str, str]
    icon: str = ""

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or next(iter(self.names.values()), "")


@dataclass(frozen=True)
class TicketView:
    number: str
    service: str
    service_names: Mapping[str, str]
    position: int | None
    estimated_wait_s: int | None
    status_url: str
    printed: bool | None = None
    """None while printing; False when the printer could not print it (then the phone QR)."""
    printer_problem: str | None = None
    note: str = ""
    """A check-in's outcome worth saying (a late arrival queued as a walk-in), a message id."""
    ticket: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, ticket: Mapping[str, Any]) -> TicketView:
        return cls(
            number=str(ticket.get("number", "")),
            service=str(ticket.get("service", "")),
            service_names=dict(ticket.get("service_names") or {}),
            position=ticket.get("position"),
            estimated_wait_s=ticket.get("estimated_wait_s"),
            status_url=str(ticket.get("status_url") or ""),
            ticket=dict(ticket),
        )

    def service_name(self, lang: str) -> str:
        names = self.service_names
        return names.get(lang) or names.get("en") or next(iter(names.values()), self.service)


@dataclass(frozen=True)
class ErrorView:
    code: str
    message: Msg
    hint: Msg
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class View:
    screen: Screen
    lang: str
    service: str | None = None
    priority: str | None = None
    ticket: TicketView | None = None
    error: ErrorView | None = None
    busy: Msg | None = None
    camera_ok: bool = True
    retry_in_s: float | None = None
    attempts: int = 0
    offline: bool = False
    """The hub is unreachable and the kiosk issues from its reserved numbers (a small mark)."""


# --- commands for the app ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssueTicket:
    key: str
    service: str
    priority: str | None
    lang: str


@dataclass(frozen=True)
class CheckIn:
    key: str
    code: str
    lang: str


@dataclass(frozen=True)
class PrintTicket:
    key: str
    ticket: Mapping[str, Any]
    lang: str
    priority: str | None


@dataclass(frozen=True)
class LoadServices:
    delay_s: float = 0.0


@dataclass(frozen=True)
class Beep:
    pass


Command = IssueTicket | CheckIn | PrintTicket | LoadServices | Beep


# --- what a citizen reads for each coded error -------------------------------------------------

ASK = N_("If you need help, please ask at the information desk.")
TAKE_NUMBER = N_("You can take a number without appointment.")

ERRORS: dict[str, tuple[str, str, tuple[Action, ...]]] = {
    # code: (what happened, what to do next, buttons)
    "qr_malformed": (
        N_("This code is not an appointment of this office."),
        N_("Please scan the QR code of your appointment confirmation, or take a number."),
        (Action.SCAN_AGAIN, Action.WALK_IN, Action.HOME),
    ),
    "qr_signature_invalid": (
        N_("We cannot validate this code."),
        N_("Please ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "qr_unknown_key": (
        N_("We cannot validate this code."),
        N_("Please ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "qr_expired": (
        N_("This appointment code has expired."),
        TAKE_NUMBER,
        (Action.WALK_IN, Action.HOME),
    ),
    "qr_not_yet_valid": (
        N_("This appointment is for another day."),
        N_("Please check the date on your confirmation."),
        (Action.WALK_IN, Action.HOME),
    ),
    "appointment_other_day": (
        N_("This appointment is for another day."),
        N_("Please check the date on your confirmation."),
        (Action.WALK_IN, Action.HOME),
    ),
    "qr_wrong_office": (
        N_("This code is not from this office."),
        N_("Please ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "appointment_cancelled": (
        N_("This appointment was cancelled."),
        N_("You can take a number without appointment, or book a new appointment."),
        (Action.WALK_IN, Action.HOME),
    ),
    "appointment_too_early": (
        N_("It is too early to check in for your appointment."),
        N_("Please scan the code again up to 30 minutes before your appointment."),
        (Action.HOME,),
    ),
    "appointment_late_refused": (
        N_("The time of your appointment has passed."),
        N_("Please book a new appointment, or ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "appointment_not_found": (
        N_("We cannot find this appointment."),
        N_("Please ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "appointment_unknown": (
        N_("We cannot find this appointment."),
        N_("Please ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "qr_superseded": (
        N_("This code is from before your appointment was changed."),
        N_("Please scan the code of your latest confirmation."),
        (Action.SCAN_AGAIN, Action.HOME),
    ),
    "wrong_office": (
        N_("This code is not from this office."),
        N_("Please ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "unknown_appointment": (
        N_("We cannot find this appointment."),
        N_("Please ask at the information desk."),
        (Action.WALK_IN, Action.HOME),
    ),
    "unknown_service": (
        N_("This service is not available at the moment."),
        ASK,
        (Action.HOME,),
    ),
    "service_closed": (
        N_("This service is not taking more numbers today."),
        ASK,
        (Action.HOME,),
    ),
    "office_closed": (
        N_("The office is not issuing numbers right now."),
        ASK,
        (Action.HOME,),
    ),
    "unauthorized": (
        N_("This kiosk is out of service."),
        N_("Please ask at the information desk."),
        (Action.HOME,),
    ),
    "forbidden": (
        N_("This kiosk is out of service."),
        N_("Please ask at the information desk."),
        (Action.HOME,),
    ),
}
UNKNOWN_ERROR = (
    N_("Something went wrong."),
    N_("Please try again, or ask at the information desk."),
    (Action.HOME,),
)

CHECK_IN_NOTES: dict[str, str] = {
    "appointment_on_time": N_("Your appointment is checked in."),
    "appointment_early": N_("You are early: you will be called at your appointment time."),
    "appointment_late_as_walk_in": N_(
        "Your appointment time has passed, so you have a number without appointment."
    ),
    "appointment_replayed": N_("This appointment was already checked in: here is its number."),
    "offline_ticket": N_(
        "This kiosk cannot reach the office system right now, but your number is valid."
    ),
}

PRINTER_PROBLEMS: dict[str, str] = {
    "printer_paper_out": N_("The printer has run out of paper."),
    "printer_cover_open": N_("The printer is open."),
    "printer_offline": N_("The printer is not working right now."),
    "printer_unreachable": N_("The printer is not working right now."),
    "printer_timeout": N_("The printer is not working right now."),
    "printer_disconnected": N_("The printer is not working right now."),
}
PRINTER_PROBLEM_DEFAULT = N_("Your ticket could not be printed.")

PRIORITY_NAMES: dict[str, str] = {
    "reduced_mobility": N_("Reduced mobility"),
    "pregnancy": N_("Pregnancy"),
    "elderly": N_("Over 65"),
    "accompanied": N_("With a baby or a dependent person"),
}

# A printer last seen offline would make the citizen wait for its time-out: go straight to the
# phone QR. Paper out or cover open answer at once, so those are tried (the paper may be back).
PRINTER_CANNOT_PRINT = frozenset({"offline"})
PRINTER_GONE = frozenset(
    {"printer_offline", "printer_unreachable", "printer_timeout", "printer_disconnected"}
)


def error_view(code: str, *, when: date | None = None, today: date | None = None) -> ErrorView:
    """The translated-later sentences and buttons for a coded error from the hub or the token."""
    what, hint, actions = ERRORS.get(code, UNKNOWN_ERROR)
    message = msg(what)
    if code in ("appointment_other_day", "qr_not_yet_valid", "qr_expired") and when and today:
        if (when - today).days == 1:
            message = msg(N_("This appointment is for tomorrow."))
        elif (when - today).days == -1:
            message = msg(N_("This appointment was yesterday."))
        else:
            message = msg(N_("This appointment is for {date}."), date=when.strftime("%d/%m/%Y"))
    return ErrorView(code, message, msg(hint), actions)


def printer_problem_text(code: str) -> str:
    return PRINTER_PROBLEMS.get(code, PRINTER_PROBLEM_DEFAULT)


def priority_name(category: str) -> str:
    return PRIORITY_NAMES.get(category, category.replace("_", " ").capitalize())


# --- the flow ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowConfig:
    languages: tuple[str, ...] = ("es", "en")
    priority_categories: tuple[str, ...] = ()
    idle_timeout_s: float = 30.0
    ticket_screen_s: float = 20.0
    error_screen_s: float = 12.0
    retry_first_s: float = 1.0
    retry_max_s: float = 30.0
    issuing_timeout_s: float = 45.0
    """A request the hub or printer never answered is given up after this long."""

    def __post_init__(self) -> None:
        if not self.languages:
            raise ValueError("the kiosk needs at least one language")


ACCEPTS_CODES = frozenset({Screen.START, Screen.SCAN, Screen.TICKET, Screen.ERROR})


class KioskFlow:
    def __init__(
        self,
        config: FlowConfig,
        services: Sequence[ServiceChoice] = (),
        *,
        clock: Callable[[], float],
        today: Callable[[], date] = date.today,
        new_key: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.config = config
        self.services: tuple[ServiceChoice, ...] = tuple(services)
        self.clock = clock
        self.today = today
        self.new_key = new_key
        self.view = View(Screen.START, config.languages[0])
        self.printer_state = "unknown"
        self.pending: str | None = None
        self._last_activity = clock()
        self._retry_delay = 0.0
        self.offline_ready = False
        """Numbers reserved for offline use are left (kiosk/offline): no "unavailable" screen."""

    # --- start-up and the hub ------------------------------------------------------------------

    def start(self) -> list[Command]:
        return [LoadServices()]

    def services_loaded(self, services: Sequence[ServiceChoice]) -> list[Command]:
        if services:
            self.services = tuple(services)
        self._retry_delay = 0.0
        if self.view.screen is Screen.UNAVAILABLE:
            self._reset()
        return []

    def services_failed(self, code: str) -> list[Command]:
        """The hub could not be asked for its services (startup, a retry while unavailable)."""
        if code != "hub_unreachable" or self.offline_ready:
            return []  # the hub answered, or numbers can be issued offline: keep going
        return self._unavailable()

    def hub_lost(self) -> list[Command]:
        """A background report found the hub gone: say so now unless a citizen is mid-way."""
        if self.view.screen is Screen.START and not self.offline_ready:
            return self._unavailable()
        return []

    def offline_state(self, ready: bool, hub_down: bool) -> list[Command]:
        """From the offline sync: whether reserved numbers are left, and whether the hub is
        unreachable. With numbers left the kiosk leaves the "unavailable" screen."""
        self.offline_ready = ready
        if ready and self.view.screen is Screen.UNAVAILABLE:
            self._reset()
        if self.view.offline != (hub_down and ready):
            self.view = replace(self.view, offline=hub_down and ready)
        return []

    def _unavailable(self) -> list[Command]:
        first = self.view.screen is not Screen.UNAVAILABLE
        if first:
            self._retry_delay = self.config.retry_first_s
        else:
            self._retry_delay = min(self.config.retry_max_s, self._retry_delay * 2)
        self.pending = None
        attempts = 1 if first else self.view.attempts + 1
        self.view = View(
            Screen.UNAVAILABLE,
            self.view.lang,
            camera_ok=self.view.camera_ok,
            retry_in_s=self._retry_delay,
            attempts=attempts,
        )
        return [LoadServices(self._retry_delay)]

    # --- touches ---------------------------------------------------------------------------------

    def touched(self) -> None:
        self._last_activity = self.clock()

    def choose_language(self, lang: str) -> list[Command]:
        self.touched()
        if lang in self.config.languages:
            self.view = replace(self.view, lang=lang)
        return []

    def go_scan(self) -> list[Command]:
        self.touched()
        if self.view.screen in (Screen.START, Screen.ERROR, Screen.TICKET):
            self.view = self._fresh(Screen.SCAN)
        return []

    def go_walk_in(self) -> list[Command]:
        self.touched()
        if self.view.screen in (Screen.START, Screen.SCAN, Screen.ERROR, Screen.TICKET):
            self.view = self._fresh(Screen.SERVICES)
        return []

    def choose_service(self, service_id: str) -> list[Command]:
        self.touched()
        if self.view.screen is not Screen.SERVICES:
            return []
        if service_id not in {s.id for s in self.services}:
            return []
        if self.config.priority_categories:
            self.view = replace(self.view, screen=Screen.PRIORITY, service=service_id)
            return []
        self.view = replace(self.view, service=service_id)
        return self._issue(None)

    def choose_priority(self, category: str | None) -> list[Command]:
        self.touched()
        if self.view.screen is not Screen.PRIORITY:
            return []
        if category is not None and category not in self.config.priority_categories:
            return []
        return self._issue(category)

    def back(self) -> list[Command]:
        self.touched()
        previous = {
            Screen.SCAN: Screen.START,
            Screen.SERVICES: Screen.START,
            Screen.PRIORITY: Screen.SERVICES,
        }.get(self.view.screen)
        if previous is Screen.START:
            self._reset(keep_lang=True)
        elif previous is not None:
            self.view = replace(self.view, screen=previous, priority=None)
        return []

    def error_action(self, action: Action | str) -> list[Command]:
        if self.view.screen is not Screen.ERROR:
            return []
        action = Action(action)
        if action is Action.WALK_IN:
            return self.go_walk_in()
        if action is Action.SCAN_AGAIN:
            return self.go_scan()
        self._reset(keep_lang=True)
        return []

    def done(self) -> list[Command]:
        """The citizen is done with the ticket screen."""
        if self.view.screen is Screen.TICKET:
            self._reset()
        return []

    # --- codes ---------------------------------------------------------------------------------

    def code_read(self, text: str) -> list[Command]:
        """A QR code from the camera or a barcode scanner."""
        if self.view.screen not in ACCEPTS_CODES or not text.strip():
            return []
        self.touched()
        key = self.new_key()
        self.pending = key
        lang = self.view.lang
        self.view = View(
            Screen.ISSUING,
            lang,
            busy=msg(N_("Checking your appointment…")),
            camera_ok=self.view.camera_ok,
        )
        return [Beep(), CheckIn(key, text.strip(), lang)]

    # --- answers -------------------------------------------------------------------------------

    def ticket_received(
        self, key: str, ticket: Mapping[str, Any], reason: str = ""
    ) -> list[Command]:
        """The hub issued the ticket; `reason` is a check-in's reason code."""
        if key != self.pending or self.view.screen is not Screen.ISSUING:
            return []
        view = replace(TicketView.from_json(ticket), note=CHECK_IN_NOTES.get(reason, ""))
        if self.printer_state in PRINTER_CANNOT_PRINT:
            self.pending = None
            problem = f"printer_{self.printer_state}"
            self._show_ticket(replace(view, printed=False, printer_problem=problem))
            return []
        self.view = replace(self.view, ticket=view, busy=msg(N_("Printing your ticket…")))
        return [PrintTicket(key, dict(ticket), self.view.lang, self.view.priority)]

    def request_failed(self, key: str, code: str, when: date | None = None) -> list[Command]:
        if key != self.pending or self.view.screen is not Screen.ISSUING:
            return []
        self.pending = None
        if code == "hub_unreachable":
            return self._unavailable()
        self.touched()
        error = error_view(code, when=when, today=self.today())
        self.view = View(Screen.ERROR, self.view.lang, error=error, camera_ok=self.view.camera_ok)
        return []

    def printed(self, key: str) -> list[Command]:
        if key != self.pending or self.view.ticket is None:
            return []
        self.pending = None
        self.printer_state = "ok"
        self._show_ticket(replace(self.view.ticket, printed=True))
        return []

    def print_failed(self, key: str, code: str) -> list[Command]:
        if key != self.pending or self.view.ticket is None:
            return []
        self.pending = None
        if code in PRINTER_GONE:
            self.printer_state = "offline"
        self._show_ticket(replace(self.view.ticket, printed=False, printer_problem=code))
        return []

    def _show_ticket(self, ticket: TicketView) -> None:
        self.touched()
        self.view = replace(self.view, screen=Screen.TICKET, ticket=ticket, busy=None)

    # --- devices and time ----------------------------------------------------------------------

    def printer_status(self, state: str) -> None:
        self.printer_state = state

    def camera_state(self, state: str) -> None:
        self.view = replace(self.view, camera_ok=state == "ok")

    def tick(self) -> bool:
        """Called every second or so; True when the view changed (a time-out sent it home)."""
        screen = self.view.screen
        if screen in (Screen.START, Screen.UNAVAILABLE):
            chose_language = screen is Screen.START and self.view.lang != self.config.languages[0]
            if chose_language and self._idle_for() >= self.config.idle_timeout_s:
                self._reset()
                return True
            return False
        limit = {
            Screen.TICKET: self.config.ticket_screen_s,
            Screen.ERROR: self.config.error_screen_s,
            Screen.ISSUING: self.config.issuing_timeout_s,
        }.get(screen, self.config.idle_timeout_s)
        if self.clock() - self._last_activity < limit:
            return False
        if screen is Screen.ISSUING:  # never left waiting on an answer that does not come
            self.pending = None
            self.view = View(
                Screen.ERROR,
                self.view.lang,
                error=error_view("timeout"),
                camera_ok=self.view.camera_ok,
            )
            self.touched()
            return True
        self._reset()
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _idle_for(self) -> float:
        return self.clock() - self._last_activity

    def _issue(self, priority: str | None) -> list[Command]:
        assert self.view.service is not None
        key = self.new_key()
        self.pending = key
        self.view = replace(
            self.view,
            screen=Screen.ISSUING,
            priority=priority,
            busy=msg(N_("One moment, please…")),
        )
        return [IssueTicket(key, self.view.service, priority, self.view.lang)]

    def _fresh(self, screen: Screen) -> View:
        return View(
            screen, self.view.lang, camera_ok=self.view.camera_ok, offline=self.view.offline
        )

    def _reset(self, *, keep_lang: bool = False) -> None:
        """Back to the start screen, forgetting the citizen's choices, ticket and language."""
        lang = self.view.lang if keep_lang else self.config.languages[0]
        self.pending = None
        self.view = View(
            Screen.START, lang, camera_ok=self.view.camera_ok, offline=self.view.offline
        )
        self.touched()


def services_from_json(
    items: Sequence[Mapping[str, Any]], only: Sequence[str] = ()
) -> list[ServiceChoice]:
    """The hub's GET /services answer as choices, limited to and ordered by `only` if given."""
    choices = {
        str(i["id"]): ServiceChoice(
            str(i["id"]), dict(i.get("names") or {}), str(i.get("icon", ""))
        )
        for i in items
        if isinstance(i, Mapping) and i.get("id")
    }
    if only:
        return [choices[s] for s in only if s in choices]
    return list(choices.values())


def wait_minutes(seconds: int | None) -> int | None:
    """A wait estimate rounded up to whole minutes (at least 1) for the screen."""
    if seconds is None:
        return None
    return max(1, -(-int(seconds) // 60))


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
