"""The TOML configuration: schema, loader and the errors that name file, key and reason.

Read once at start. Environment variables override keys for deployment:
``OFFICE360__HUB__PORT=9000`` sets ``[hub] port``; values are parsed as TOML scalars when they can be.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_PATHS = (Path("/etc/office360/office360.toml"), Path("office360.toml"))
ENV_CONFIG = "OFFICE360_CONFIG"
ENV_PREFIX = "OFFICE360__"


def escpos_capabilities() -> dict[str, Any]:
    """python-escpos's table of printer profiles. Its module calls logging.basicConfig() when
    first imported, which gives the root logger a handler of its own (every line of a program
    that sets up logging later printed twice, in escpos's format): undone here."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        from escpos.capabilities import CAPABILITIES
    finally:
        root.handlers[:] = handlers
    return CAPABILITIES  # type: ignore[no-any-return]


LangCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]


class ConfigError(Exception):
    """A configuration problem; str() names the file, the key and the reason."""

    def __init__(self, file: str | Path | None, key: str, reason: str) -> None:
        self.file = str(file) if file is not None else "<no file>"
        self.key = key
        self.reason = reason
        super().__init__(f"{self.file}: {key}: {reason}")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8360, ge=1, le=65535)
    data_dir: Path = Path("/var/lib/office360")
    database_url: str = ""
    """Empty: an SQLite file `office360.db` in data_dir. Or postgresql+psycopg://user@host/db."""
    public_url: str = ""
    """Base of the links given to citizens (status pages); empty: http://host:port."""
    max_body_bytes: int = Field(65_536, ge=1024)
    event_retention_days: int = Field(7, ge=1)
    idempotency_retention_hours: int = Field(48, ge=1)
    cors_origins: list[str] = []
    announce: bool = False
    """Announce the hub on the LAN over mDNS/DNS-SD so kiosks and displays find it."""
    sqlite_on_loop: bool = True
    """Run SQLite transactions on the event loop instead of a database thread (faster)."""
    workers: int = Field(1, ge=1, le=64)
    """Hub processes sharing the port (and the SQLite file or PostgreSQL database)."""
    writer_process: bool = False
    """SQLite: one more process writes the plain ticket and desk requests, off the HTTP workers."""

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            if not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme and host (and port), e.g. "
                    '"https://signage.example.org", with no path or trailing slash'
                )
        return v

    @model_validator(mode="after")
    def _writer_on_sqlite(self) -> HubSettings:
        if self.writer_process and self.database_url:
            raise ValueError(
                "writer_process is for an SQLite file; with database_url every hub process "
                "writes to the database server itself"
            )
        return self

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'office360.db'}"


class ServiceSettings(Section):
    id: Ident
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$")
    names: dict[LangCode, str]
    icon: str = ""

    @field_validator("names")
    @classmethod
    def _names_not_empty(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("give the service a name in at least one language")
        return v


class DeskSettings(Section):
    id: Ident
    name: str = ""
    services: list[Ident]

    def label(self) -> str:
        return self.name or self.id


class OfficeSettings(Section):
    id: Ident
    name: str
    timezone: str = "Europe/Madrid"
    languages: list[LangCode] = ["es", "en"]
    default: bool = False
    services: list[ServiceSettings]
    desks: list[DeskSettings]

    def desk_by_id(self, desk_id: str) -> DeskSettings | None:
        return next((d for d in self.desks if d.id == desk_id), None)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _consistent(self) -> OfficeSettings:
        ids = [s.id for s in self.services]
        if len(set(ids)) != len(ids):
            raise ValueError("two services share an id")
        prefixes = [s.prefix for s in self.services]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("two services share a ticket prefix")
        desk_ids = [d.id for d in self.desks]
        if len(set(desk_ids)) != len(desk_ids):
            raise ValueError("two desks share an id")
        for desk in self.desks:
            unknown = set(desk.services) - set(ids)
            if unknown:
                raise ValueError(f"desk {desk.id!r} serves unknown service(s) {sorted(unknown)}")
        return self


class QueueSettings(Section):
    priority_categories: list[Ident] = ["reduced_mobility", "pregnancy", "elderly", "accompanied"]
    max_overtake_minutes: float = Field(15, ge=0)
    service_time_window: int = Field(20, ge=1)
    """How many recent service times the rolling mean uses."""
    default_service_time_s: float = Field(300, gt=0)
    offline_numbers_from: int = Field(800, ge=0, le=999)
    """Numbers from here to 999 of each prefix and day are kept for kiosks' offline blocks (the
    hub's own numbering jumps from just below it to 1000); 0 takes blocks from the daily counter."""

    @field_validator("offline_numbers_from")
    @classmethod
    def _room_below(cls, value: int) -> int:
        if 0 < value < 100:
            raise ValueError("must be 0 (blocks from the daily counter) or 100 to 999")
        return value


class DeviceSettings(Section):
    """How a kiosk or display reaches the hub."""

    hub_url: str = "http://127.0.0.1:8360"
    token: str = ""
    token_file: Path | None = None
    office: str = ""
    timeout_s: float = Field(5, gt=0)
    state_dir: Path = Path("/var/lib/office360")
    """Where pairing stores the device's token (device.token, mode 0600)."""

    def resolved_token(self) -> str:
        if self.token:
            return self.token
        if self.token_file and self.token_file.exists():
            return self.token_file.read_text().strip()
        paired = self.state_dir / "device.token"  # office360.enrollment.token_path
        if not self.token_file and paired.exists():
            return paired.read_text().strip()
        return ""


class PrinterSettings(Section):
    """Owned by printer/ (issue 3). The kiosk opens it with printer.printer_from_settings()."""

    url: str = "preview:///var/lib/office360/tickets"
    """tcp://HOST:9100, usb://VID:PID, serial:///dev/ttyUSB0?baudrate=19200, file:///dev/usb/lp0,
    or preview:///FOLDER (one PNG per ticket)."""
    profile: str = "TM-T88V"
    """A python-escpos printer profile; it decides code pages, native QR, cutter and width."""
    paper_width_mm: Literal[80, 58] = 80
    timeout_s: float = Field(default=3.0, gt=0, le=30)
    """No status query or print waits longer than this."""
    code_page: str = "auto"
    """auto: the first of CP858, CP1252, ISO_8859-15, CP850, CP437 the profile has; or a name."""
    qr: Literal["auto", "native", "image"] = "auto"
    """native: GS ( k; image: a raster image; auto: native where the profile supports it."""
    cut: Literal["full", "partial"] = "full"
    ask_status: bool = True
    """Ask DLE EOT status before and after printing; false for printers that never answer."""
    footer: dict[LangCode, str] = {
        "es": "Conserve este tique. ¡Le llamaremos por la pantalla!",
        "en": "Keep this ticket. You will be called on the screen.",
    }

    @field_validator("url")
    @classmethod
    def _printer_url(cls, v: str) -> str:
        import re

        forms = (
            r"tcp://[^/:?#\s]+(:\d{1,5})?/?",
            r"usb://[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}(\?\S*)?",
            r"(serial|file|preview)://\S+",
        )
        if not any(re.fullmatch(form, v.strip()) for form in forms):
            raise ValueError(
                "unknown printer URL; use tcp://HOST:9100, usb://04b8:0202, "
                "serial:///dev/ttyUSB0?baudrate=19200, file:///dev/usb/lp0 or preview:///FOLDER"
            )
        return v.strip()

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        try:
            capabilities = escpos_capabilities()
        except ImportError:  # no printer extra here: the kiosk checks again when it opens
            return v
        if v not in capabilities["profiles"]:
            known = ", ".join(sorted(capabilities["profiles"]))
            raise ValueError(f"unknown printer profile {v!r}; python-escpos knows {known}")
        return v

    @field_validator("code_page")
    @classmethod
    def _known_code_page(cls, v: str, info: Any) -> str:
        try:
            capabilities = escpos_capabilities()
        except ImportError:
            return v
        profile = capabilities["profiles"].get(info.data.get("profile", "TM-T88V"))
        if v.lower() == "auto" or profile is None:
            return v
        pages = {p for p in profile["codePages"].values() if p != "Unknown"}
        if v.upper() not in pages:
            raise ValueError(f"the printer profile has no code page {v!r}; it has {sorted(pages)}")
        return v.upper()


class KioskSettings(Section):
    """Owned by kiosk/ (issue 5). The hub, token and office come from [device]."""

    device_name: str = Field("kiosk-1", pattern=r"^[A-Za-z0-9_.:-]{1,80}$")
    """Names this kiosk in its health reports to the hub."""
    camera: str = "0"
    """A camera index ("0"), a device ("/dev/video0"), a video file or an image folder; "" none."""
    camera_width: int = Field(640, ge=160, le=3840)
    camera_height: int = Field(480, ge=120, le=2160)
    dedupe_s: float = Field(3.0, ge=0, le=60)
    """The same code read again within this many seconds is ignored."""
    decode_fps: float = Field(15, gt=0, le=120)
    """At most this many camera frames a second are decoded (the preview keeps its rate)."""
    fallback_every: int = Field(4, ge=1, le=100)
    """The decoder's slow fallbacks run on one decoded frame in this many."""
    wedge_scanner: bool = True
    """Accept keyboard-wedge barcode scanners (fast typing ended by Enter)."""
    serial_scanner: str = ""
    """A serial barcode scanner's port, e.g. /dev/ttyACM0; "" for none."""
    languages: list[LangCode] = ["es", "en"]
    """Offered in the language picker, first is the default the kiosk returns to."""
    priority_categories: list[Ident] | None = None
    """Priority categories offered; None: [queue] priority_categories; []: no priority step."""
    services: list[Ident] = []
    """Services offered for walk-in numbers, in this order; []: every service of the office."""
    idle_timeout_s: float = Field(30, ge=5, le=600)
    """With no touch for this long the kiosk returns to the start screen and forgets everything."""
    ticket_screen_s: float = Field(20, ge=3, le=600)
    """How long the ticket screen stays up."""
    error_screen_s: float = Field(12, ge=3, le=600)
    offer_phone_qr: bool = True
    """Show the QR of the ticket's status page on every ticket screen (always shown when the
    printer cannot print)."""
    orientation: Literal["landscape", "portrait"] = "landscape"
    fullscreen: bool = True
    low_reach: bool = False
    """Keep every control in the lower half of the screen (wheelchair users)."""
    high_contrast: bool = False
    beep: bool = True
    volume: float = Field(0.7, ge=0, le=1)
    text_scale: float = Field(1.0, ge=0.75, le=2.0)
    health_interval_s: float = Field(30, ge=5, le=3600)
    retry_max_s: float = Field(30, gt=0, le=600)
    """Longest pause between attempts to reach the hub while it is unavailable."""
    cache_dir: Path = Path("/var/cache/office360/kiosk")
    """Compiled translations and the beep sound; must be writable (falls back to /tmp)."""
    offline: bool = True
    """While the hub is unreachable, issue numbers the hub reserved for this kiosk in advance,
    keep them in a spool under [device] state_dir and send them when the hub is back."""
    offline_block_size: int = Field(50, ge=1, le=500)
    """Numbers reserved per service and day; a new block is asked for below half of this."""
    offline_refresh_s: float = Field(300, ge=5, le=3600)
    """While the hub answers: how often the spool is sent and the blocks topped up."""
    offline_next_day_from: str = Field("17:00", pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """From this local time on, numbers for the next day are reserved too (an outage across
    midnight); "" never."""


class DisplaySettings(Section):
    """Owned by display/ (issue 6). The hub, token and office come from [device]."""

    orientation: Literal["landscape", "portrait"] = "landscape"
    fullscreen: bool = True
    last_calls: int = Field(5, ge=0, le=12)
    show_waiting: bool = True
    show_estimates: bool = True
    languages: list[LangCode] = ["es", "en"]
    """Spoken, in this order, after the chime; also the languages of the on-screen headings."""
    chime: bool = True
    volume: float = Field(0.8, ge=0, le=1)
    voice_speed_wpm: int = Field(140, ge=80, le=300)
    espeak: str = "espeak-ng"
    blink_s: float = Field(6, ge=0, le=60)
    announce_max_age_s: float = Field(60, ge=0)
    """A call caught up after an outage is shown, but spoken only if it is younger than this."""
    message: str = Field("", max_length=500)
    theme: Literal["dark", "high_contrast"] = "dark"
    cache_dir: Path = Path("/var/cache/office360/display")
    reconnect_max_s: float = Field(10, gt=0, le=300)


class WebSettings(Section):
    """Owned by hub/web (issue 7): staff sign-in, the desk panel, /take and the admin pages."""

    session_hours: float = Field(12, gt=0, le=24 * 30)
    """A staff sign-in lasts this many hours."""
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    """auto: cookies get the Secure flag when the page is served over https (or public_url is)."""
    signin_max_failures: int = Field(5, ge=1, le=1000)
    """Failed sign-ins allowed per login within signin_window_minutes before it is refused."""
    signin_max_per_address: int = Field(20, ge=1, le=10_000)
    """Sign-in attempts allowed per client address within signin_window_minutes."""
    signin_window_minutes: float = Field(15, gt=0, le=24 * 60)
    take_enabled: bool = True
    """The contactless walk-in page /take (a QR poster at the door)."""
    take_office: str = ""
    """The office /take issues tickets for; empty: the default office."""
    take_per_device_per_hour: int = Field(2, ge=1, le=1000)
    take_per_address_per_hour: int = Field(30, ge=1, le=100_000)
    """One address may be the office's guest Wi-Fi, shared by everybody waiting: keep it generous."""
    device_silent_minutes: float = Field(5, gt=0, le=24 * 60)
    """The admin page warns about a kiosk or display that has not reported for this long."""


class AppointmentServiceSettings(Section):
    """Overrides of [appointments] for one service (of one office, or of every office)."""

    service: Ident
    office: str = ""
    """Empty: the service of that id in every office."""
    enabled: bool = True
    hours: dict[str, str] | None = None
    """None: the [appointments] hours."""
    slot_minutes: int | None = Field(None, ge=5, le=480)
    capacity: int | None = Field(None, ge=0, le=1000)
    """People per slot; None: one per desk that serves the service."""
    closed_days: list[date] = []
    """Added to the [appointments] closed days."""

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return v if v is None else _check_hours(v)


class AppointmentSettings(Section):
    """Owned by the appointments part (issue 4): booking, QR codes, check-in."""

    enabled: bool = True
    hours: dict[str, str] = {d: "09:00-14:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    """Opening hours for appointments per weekday, local time; weekdays not named are closed."""
    slot_minutes: int = Field(15, ge=5, le=480)
    capacity: int | None = Field(None, ge=0, le=1000)
    closed_days: list[date] = []
    services: list[AppointmentServiceSettings] = []
    booking_days_ahead: int = Field(30, ge=1, le=365)
    early_window_minutes: float = Field(30, ge=0, le=720)
    grace_minutes: float = Field(10, ge=0, le=720)
    late_policy: Literal["walk_in", "refuse"] = "walk_in"
    video: bool = True
    """Offer video appointments on the booking page."""
    video_url_template: str = "https://meet.example.org/office360-{room}"
    key_file: Path = Path("appointment-keys.txt")
    """Relative paths are inside [hub] data_dir."""
    keep_retired_keys: int = Field(1, ge=0, le=10)
    public_keys: list[str] = []
    """For kiosks: `kid:BASE64URL` lines from `office360 keys show-public`."""

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_hours(v)

    @field_validator("video_url_template")
    @classmethod
    def _template(cls, v: str) -> str:
        if "{room}" not in v or not v.startswith(("https://", "http://")):
            raise ValueError("give an http(s) URL containing {room}")
        return v

    @field_validator("public_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        from office360.qrtoken import TokenError, parse_public_keys

        try:
            parse_public_keys(v)
        except TokenError as exc:
            raise ValueError(exc.message) from None
        return v

    def key_path(self, data_dir: Path) -> Path:
        return self.key_file if self.key_file.is_absolute() else data_dir / self.key_file

    def for_service(self, office_id: str, service_id: str) -> AppointmentServiceSettings:
        """This service's settings with the section's defaults filled in."""
        matches = [s for s in self.services if s.service == service_id]
        own = next((s for s in matches if s.office == office_id), None) or next(
            (s for s in matches if not s.office), None
        )
        return AppointmentServiceSettings(
            service=service_id,
            office=office_id,
            enabled=self.enabled and (own.enabled if own else True),
            hours=own.hours if own and own.hours is not None else self.hours,
            slot_minutes=own.slot_minutes if own and own.slot_minutes else self.slot_minutes,
            capacity=own.capacity if own and own.capacity is not None else self.capacity,
            closed_days=sorted({*self.closed_days, *(own.closed_days if own else [])}),
        )


def _check_hours(v: dict[str, str]) -> dict[str, str]:
    from office360.core.errors import Invalid
    from office360.core.slots import parse_weekly_hours

    try:
        parse_weekly_hours(v)
    except Invalid as exc:
        raise ValueError(exc.message) from None
    return v


class WebhookSettings(Section):
    """One webhook subscription from the file (more can be added through the admin API)."""

    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    secret: str = Field("", max_length=200)
    """Key of the HMAC-SHA256 signature; or give secret_env, the variable that holds it."""
    secret_env: str = ""
    events: list[str] = ["ticket.*", "appointment.*"]
    """Event types ("ticket.called"), a family ("ticket.*"), or "*" for all."""
    description: str = Field("", max_length=200)


class SmsSettings(Section):
    enabled: bool = False
    url: str = ""
    """The gateway's URL; {to} and {text} in it are replaced (URL-encoded) for GET gateways."""
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: dict[str, str] = {}
    headers_env: dict[str, str] = {}
    """Header name -> environment variable holding its value (API keys stay out of the file)."""
    body_template: str = '{"to": "{to}", "text": "{text}"}'
    body_format: Literal["json", "form", "text"] = "json"
    """How {to} and {text} are escaped into the body: JSON strings, form-encoded, or as is."""
    near_position: int = Field(3, ge=0, le=100)
    """Send "your turn is near" at this position or better (0: never by position)."""
    near_wait_minutes: float = Field(10, ge=0, le=600)
    """...or when the estimated wait is at most this (0: never by estimate)."""
    timeout_s: float = Field(10, gt=0, le=120)


class EmailSettings(Section):
    enabled: bool = False
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str = ""
    password_file: Path | None = None
    password_env: str = ""
    sender: str = ""
    """From: address, e.g. "Oficina 360 <citas@example.org>"."""
    templates_dir: Path | None = None
    """Folder whose templates replace the built-in ones of the same name."""
    reminder_hours_before: float = Field(24, ge=0, le=24 * 14)
    timeout_s: float = Field(15, gt=0, le=300)


class NotificationSettings(Section):
    """Owned by hub/outbox*.py (issue 11): webhooks, SMS and e-mail through an outbox."""

    webhooks: list[WebhookSettings] = []
    sms: SmsSettings = SmsSettings()
    email: EmailSettings = EmailSettings()
    poll_s: float = Field(1.0, gt=0, le=60)
    concurrency: int = Field(4, ge=1, le=32)
    retry_base_s: float = Field(5, gt=0, le=3600)
    retry_max_s: float = Field(3600, gt=0, le=86_400)
    max_attempts: int = Field(15, ge=1, le=100)
    claim_s: float = Field(120, ge=5, le=3600)
    """A message being sent is retried if not marked sent within this (a hub died mid-send)."""
    retention_days: int = Field(30, ge=1, le=3650)
    contact_max_hours: float = Field(24, gt=0, le=24 * 30)


class PrivacySettings(Section):
    """Owned by the results part (issue 9): how long personal data is kept."""

    personal_data_days: int = Field(30, ge=1, le=3650)
    """Appointments' names, e-mails and phones, SMS numbers and feedback comments older than
    this many days are erased by a daily job; counts, times and ratings (the KPIs) are kept."""


class Settings(Section):
    hub: HubSettings = HubSettings()
    offices: list[OfficeSettings]
    queue: QueueSettings = QueueSettings()
    device: DeviceSettings = DeviceSettings()
    printer: PrinterSettings = PrinterSettings()
    kiosk: KioskSettings = KioskSettings()
    display: DisplaySettings = DisplaySettings()
    appointments: AppointmentSettings = AppointmentSettings()
    web: WebSettings = WebSettings()
    privacy: PrivacySettings = PrivacySettings()
    notifications: NotificationSettings = NotificationSettings()
    source: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _one_default(self) -> Settings:
        if not self.offices:
            raise ValueError("configure at least one office")
        ids = [o.id for o in self.offices]
        if len(set(ids)) != len(ids):
            raise ValueError("two offices share an id")
        if sum(o.default for o in self.offices) > 1:
            raise ValueError("only one office may be the default")
        return self

    @property
    def default_office(self) -> OfficeSettings:
        return next((o for o in self.offices if o.default), self.offices[0])

    def office(self, office_id: str | None) -> OfficeSettings | None:
        if not office_id:
            return self.default_office
        return next((o for o in self.offices if o.id == office_id), None)


def find_config(explicit: str | Path | None) -> Path:
    """--config, else $OFFICE360_CONFIG, else /etc/office360/office360.toml, else ./office360.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    for candidate in DEFAULT_PATHS:
        if candidate.exists():
            return candidate
    raise ConfigError(
        None,
        "--config",
        "no configuration file: pass --config FILE, set $OFFICE360_CONFIG, or create "
        + " or ".join(str(p) for p in DEFAULT_PATHS),
    )


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    file = find_config(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(file, "-", "file not found") from None
    except PermissionError:
        raise ConfigError(file, "-", "permission denied") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, "-", f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "-", f"not valid TOML: {exc}") from None
    overridden = apply_env_overrides(raw, os.environ if env is None else env)
    return parse_settings(raw, file, overridden)


def parse_settings(
    raw: dict[str, Any],
    file: str | Path | None = None,
    overridden: dict[tuple[str, ...], str] | None = None,
) -> Settings:
    """`overridden`: keys set by environment variables (apply_env_overrides), named in errors."""
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _dotted(raw, err["loc"]) or "-"
        reason = _reason(err)
        keys = tuple(str(p) for p in err["loc"] if not isinstance(p, int))
        for path, name in (overridden or {}).items():
            if keys[: len(path)] == path:
                reason += f" (set by the environment variable {name})"
                break
        raise ConfigError(file, key, reason) from None
    return settings.model_copy(update={"source": str(file or "")})


def apply_env_overrides(raw: dict[str, Any], env: Any) -> dict[tuple[str, ...], str]:
    """Sets each OFFICE360__SECTION__KEY into `raw`; returns the keys set, with their variable."""
    overridden: dict[tuple[str, ...], str] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            continue
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = _scalar(value)
            overridden[tuple(path)] = name
    return overridden


def _scalar(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _dotted(raw: Any, loc: tuple[Any, ...]) -> str:
    """offices[0].desks[1].services -> offices.main.desks.3.services where ids exist."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int):
            ident = (
                node[item].get("id")
                if isinstance(node, list) and item < len(node) and isinstance(node[item], dict)
                else None
            )
            parts[-1] = f"{parts[-1]}[{ident or item}]" if parts else f"[{item}]"
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def _reason(err: Any) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        return "unknown key (check its spelling against config/office360.example.toml)"
    if err.get("type") == "missing":
        return "required key is missing"
    if "input" in err and err.get("type") not in ("model_type",):
        return f"{msg.removeprefix('Value error, ')} (got {err['input']!r})"
    return msg.removeprefix("Value error, ")


Role = Literal["admin", "manager", "staff", "kiosk", "display"]
