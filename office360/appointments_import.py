"""Appointments exported by another booking system (CSV or iCalendar) as rows to import.

Every row is checked; each problem is reported with the line it is on. All or nothing: the rows
come back only when every one is good, else AppointmentImportError lists (line, code, reason).

CSV: a header row, then one appointment a row; comma, semicolon or tab separated (the most
frequent of them in the header wins). Columns, case-insensitive, Spanish names accepted too:

    id (or external_id, reference, uid, referencia)   optional, must be unique
    office (oficina)          optional when a default office is given
    service (servicio)        a service id of that office
    start (start_at, inicio)  ISO 8601; without an offset it is the office's local time
      or date (fecha) + time (hora): YYYY-MM-DD or DD/MM/YYYY, and HH:MM
    name (nombre)             required, at most 100 characters
    email (correo)            optional
    phone (telefono)          optional
    mode (modalidad)          in_person (default) or video

iCalendar: one VEVENT an appointment. UID is the id; DTSTART the start (UTC, TZID with an IANA
zone, or floating local time); the service is X-OFFICE360-SERVICE or a CATEGORIES value that is a
service id; the office X-OFFICE360-OFFICE or the default; the name X-OFFICE360-NAME, else the
ATTENDEE's CN, else SUMMARY; e-mail from the ATTENDEE's mailto; X-OFFICE360-PHONE and
X-OFFICE360-MODE. Cancelled events (STATUS:CANCELLED) are skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from office360.core.errors import DomainError
from office360.core.text import unsafe_characters

if TYPE_CHECKING:
    from office360.config import Settings

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_NAME = 100
_EMAIL_RE = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
_PHONE_RE = re.compile(r"\+?[0-9 ()./-]{6,24}")
_ID_RE = re.compile(r"[^\x00-\x1f\x7f]{1,200}")
_LINE_END_RE = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
_MODES = {"": False, "in_person": False, "presencial": False, "video": True, "videollamada": True}

COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "external_id", "reference", "uid", "referencia"),
    "office": ("office", "oficina"),
    "service": ("service", "servicio"),
    "start": ("start", "start_at", "inicio"),
    "date": ("date", "fecha"),
    "time": ("time", "hora"),
    "name": ("name", "nombre"),
    "email": ("email", "e-mail", "correo"),
    "phone": ("phone", "telefono", "teléfono"),
    "mode": ("mode", "modalidad"),
}
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}


class Problem(NamedTuple):
    line: int
    code: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason} [{self.code}]"


class AppointmentImportError(DomainError):
    """Nothing was imported; `problems` says what is wrong where, in line order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(
            "import_rejected",
            f"{len(self.problems)} problem(s), nothing imported: {shown}{more}",
            problems=[p._asdict() for p in self.problems],
        )


@dataclass(frozen=True)
class OfficeCatalog:
    timezone: str
    services: frozenset[str]


@dataclass(frozen=True)
class AppointmentRow:
    line: int
    external_id: str
    office: str
    service: str
    start: datetime
    """UTC."""
    name: str
    email: str = ""
    phone: str = ""
    video: bool = False


def catalog_from_settings(settings: Settings) -> dict[str, OfficeCatalog]:
    return {
        office.id: OfficeCatalog(office.timezone, frozenset(s.id for s in office.services))
        for office in settings.offices
    }


def import_file(
    path: str | Path,
    catalog: Mapping[str, OfficeCatalog],
    default_office: str | None = None,
    now: datetime | None = None,
    encoding: str = "utf-8",
) -> list[AppointmentRow]:
    """Rows from a CSV or iCalendar file (by extension, else by content)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = Problem(0, "file_unreadable", f"{path}: {exc.strerror}")
        raise AppointmentImportError([problem]) from None
    text = decode(data, encoding)
    is_ics = path.suffix.lower() in (".ics", ".ical", ".icalendar") or (
        path.suffix.lower() not in (".csv", ".tsv", ".txt")
        and text.lstrip().upper().startswith("BEGIN:VCALENDAR")
    )
    parse = parse_icalendar if is_ics else parse_csv
    return parse(text, catalog, default_office, now)


def decode(data: bytes, encoding: str = "utf-8") -> str:
    if len(data) > MAX_FILE_BYTES:
        raise AppointmentImportError(
            [Problem(0, "file_too_large", f"larger than {MAX_FILE_BYTES // 2**20} MiB")]
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise AppointmentImportError(
            [
                Problem(
                    line,
                    "encoding_invalid",
                    f"not {encoding} text; save the file as UTF-8 "
                    "or give its encoding (e.g. cp1252)",
                )
            ]
        ) from None
    except LookupError:
        raise AppointmentImportError(
            [Problem(0, "encoding_unknown", f"unknown encoding {encoding!r}")]
        ) from None
    return text.removeprefix("\ufeff")


# ---------------------------------------------------------------------------------------------
# Shared row checks


@dataclass
class _Checker:
    catalog: Mapping[str, OfficeCatalog]
    default_office: str | None
    now: datetime | None
    problems: list[Problem] = field(default_factory=list)
    rows: list[AppointmentRow] = field(default_factory=list)
    seen_ids: dict[str, int] = field(default_factory=dict)

    def report(self, line: int, code: str, reason: str) -> None:
        self.problems.append(Problem(line, code, reason))

    def office(self, line: int, value: str) -> str | None:
        office = value.strip() or (self.default_office or "")
        if not office:
            self.report(line, "office_missing", "no office given and no default office")
            return None
        if office not in self.catalog:
            self.report(line, "office_unknown", f"unknown office {office!r}")
            return None
        return office

    def service(self, line: int, office: str | None, value: str) -> str | None:
        service = value.strip()
        if not service:
            self.report(line, "service_missing", "no service given")
            return None
        if office is not None and service not in self.catalog[office].services:
            self.report(line, "service_unknown", f"office {office!r} has no service {service!r}")
            return None
        return service

    def zone(self, office: str | None) -> ZoneInfo | None:
        return ZoneInfo(self.catalog[office].timezone) if office is not None else None

    def start(self, line: int, when: datetime | None) -> datetime | None:
        if when is None:
            return None
        when = when.astimezone(UTC)
        if self.now is not None and when <= self.now:
            self.report(line, "start_in_past", f"{when.isoformat()} has already passed")
            return None
        return when

    def external_id(self, line: int, value: str) -> str:
        value = value.strip()
        if value and not _ID_RE.fullmatch(value):
            self.report(line, "id_invalid", "the id is too long or has control characters")
        elif value in self.seen_ids:
            self.report(
                line, "id_duplicate", f"id {value!r} is also on line {self.seen_ids[value]}"
            )
        elif value:
            self.seen_ids[value] = line
        return value

    def name(self, line: int, value: str) -> str:
        name = " ".join(value.split())
        if not name:
            self.report(line, "name_missing", "no name given")
        elif unsafe_characters(name):
            self.report(line, "name_invalid", "control characters or bidirectional overrides")
        elif len(name) > MAX_NAME:
            self.report(line, "name_too_long", f"the name is longer than {MAX_NAME} characters")
        return name

    def email(self, line: int, value: str) -> str:
        email = value.strip()
        if email and not _EMAIL_RE.fullmatch(email):
            self.report(line, "email_invalid", f"not an e-mail address: {email!r}")
        return email

    def phone(self, line: int, value: str) -> str:
        phone = value.strip()
        digits = sum(c.isdigit() for c in phone)
        if phone and (not _PHONE_RE.fullmatch(phone) or digits < 6):
            self.report(line, "phone_invalid", f"not a phone number: {phone!r}")
        return phone

    def mode(self, line: int, value: str) -> bool:
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in _MODES:
            self.report(line, "mode_invalid", f"mode is in_person or video, not {value!r}")
            return False
        return _MODES[key]

    def finish(self) -> list[AppointmentRow]:
        if self.problems:
            raise AppointmentImportError(self.problems)
        return self.rows


def _naive_to_zone(when: datetime, zone: ZoneInfo) -> datetime | None:
    """Attach a local zone; None for a wall time the clocks skip."""
    aware = when.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != when:
        return None
    return aware


# ---------------------------------------------------------------------------------------------
# CSV


def parse_csv(
    text: str,
    catalog: Mapping[str, OfficeCatalog],
    default_office: str | None = None,
    now: datetime | None = None,
) -> list[AppointmentRow]:
    checker = _Checker(catalog, default_office, now)
    # only CR, LF and CRLF end a line (str.splitlines would also split on U+2028 and others)
    lines = [line for line in _LINE_END_RE.split(text.removeprefix("\ufeff")) if line]
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise AppointmentImportError([Problem(1, "file_empty", "the file is empty")])
    header_line = lines[first]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(lines[first:], delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise AppointmentImportError([Problem(first + 1, "csv_invalid", str(exc))]) from None
    columns = _header_columns(header, first + 1, checker)
    if checker.problems:
        raise AppointmentImportError(checker.problems)

    offset = first
    rows_read = 0
    while True:
        line = offset + reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            checker.report(line, "csv_invalid", str(exc))
            break
        if not any(cell.strip() for cell in record):
            continue
        rows_read += 1
        if rows_read > MAX_ROWS:
            checker.report(line, "too_many_rows", f"more than {MAX_ROWS} rows")
            break
        if len(record) != len(header):
            checker.report(
                line, "row_columns", f"{len(record)} fields where the header has {len(header)}"
            )
            continue
        _csv_row(checker, line, {col: record[i] for col, i in columns.items()})
    return checker.finish()


def _header_columns(header: list[str], line: int, checker: _Checker) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        column = _ALIASES.get(key)
        if column is None:
            checker.report(line, "column_unknown", f"unknown column {title!r}")
        elif column in columns:
            checker.report(line, "column_duplicate", f"column {title!r} appears twice")
        else:
            columns[column] = index
    for required in ("service", "name"):
        if required not in columns:
            checker.report(line, "column_missing", f"missing column {required!r}")
    has_start = "start" in columns
    has_parts = "date" in columns and "time" in columns
    if has_start == has_parts or ("date" in columns) != ("time" in columns):
        checker.report(line, "column_missing", "give a 'start' column, or 'date' and 'time'")
    if "office" not in columns and not checker.default_office:
        checker.report(line, "column_missing", "missing column 'office' and no default office")
    return columns


def _csv_row(checker: _Checker, line: int, cells: Mapping[str, str]) -> None:
    before = len(checker.problems)
    external_id = checker.external_id(line, cells.get("external_id", ""))
    office = checker.office(line, cells.get("office", ""))
    service = checker.service(line, office, cells.get("service", ""))
    zone = checker.zone(office)
    start = checker.start(line, _csv_start(checker, line, cells, zone))
    name = checker.name(line, cells.get("name", ""))
    email = checker.email(line, cells.get("email", ""))
    phone = checker.phone(line, cells.get("phone", ""))
    video = checker.mode(line, cells.get("mode", ""))
    if len(checker.problems) == before and office and service and start:
        checker.rows.append(
            AppointmentRow(line, external_id, office, service, start, name, email, phone, video)
        )


def _csv_start(
    checker: _Checker, line: int, cells: Mapping[str, str], zone: ZoneInfo | None
) -> datetime | None:
    if "start" in cells:
        raw = cells["start"].strip()
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            checker.report(line, "start_invalid", f"not a date and time: {raw!r}")
            return None
    else:
        raw = f"{cells['date'].strip()} {cells['time'].strip()}"
        parsed = _parse_date_time(cells["date"].strip(), cells["time"].strip())
        if parsed is None:
            checker.report(line, "start_invalid", f"not a date and time: {raw!r}")
            return None
        when = parsed
    if when.tzinfo is not None:
        return when
    if zone is None:
        return None  # the office is already reported
    aware = _naive_to_zone(when, zone)
    if aware is None:
        checker.report(
            line, "start_invalid", f"{raw!r} does not exist in {zone.key} (clock change)"
        )
    return aware


def _parse_date_time(day_text: str, time_text: str) -> datetime | None:
    day: date | None = None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = datetime.strptime(day_text, pattern).date()
            break
        except ValueError:
            continue
    try:
        clock = time.fromisoformat(time_text)
    except ValueError:
        return None
    if day is None or clock.tzinfo is not None:
        return None
    return datetime.combine(day, clock)


# ---------------------------------------------------------------------------------------------
# iCalendar


@dataclass(frozen=True)
class ContentLine:
    line: int
    """Physical line number where the (possibly folded) content line starts."""
    name: str
    params: dict[str, list[str]]
    value: str


class IcsSyntaxError(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def content_lines(text: str) -> list[ContentLine]:
    """Unfold and split RFC 5545 content lines; IcsSyntaxError names the first bad line."""
    logical: list[tuple[int, str]] = []
    for number, raw in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
        if raw[:1] in (" ", "\t") and logical:
            start, previous = logical[-1]
            logical[-1] = (start, previous + raw[1:])
        elif raw.strip():
            logical.append((number, raw))
    return [_content_line(number, raw) for number, raw in logical]


def _content_line(number: int, raw: str) -> ContentLine:
    i, n = 0, len(raw)
    while i < n and raw[i] not in ";:":
        i += 1
    name = raw[:i].strip().upper()
    if not name or not re.fullmatch(r"[A-Z0-9-]+", name) or i == n:
        raise IcsSyntaxError(number, f"not an iCalendar content line: {raw[:40]!r}")
    params: dict[str, list[str]] = {}
    while raw[i] == ";":
        eq = raw.find("=", i)
        if eq < 0:
            raise IcsSyntaxError(number, "a parameter has no value")
        pname = raw[i + 1 : eq].strip().upper()
        i = eq + 1
        values: list[str] = []
        while True:
            if i < n and raw[i] == '"':
                close = raw.find('"', i + 1)
                if close < 0:
                    raise IcsSyntaxError(number, "unclosed quote in a parameter")
                values.append(raw[i + 1 : close])
                i = close + 1
            else:
                start = i
                while i < n and raw[i] not in ",;:":
                    i += 1
                values.append(raw[start:i])
            if i < n and raw[i] == ",":
                i += 1
                continue
            break
        if i >= n:
            raise IcsSyntaxError(number, "the line has no ':' before its value")
        params[pname] = values
    if raw[i] != ":":
        raise IcsSyntaxError(number, f"unexpected {raw[i]!r} after a parameter")
    return ContentLine(number, name, params, raw[i + 1 :])


def unescape_text(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_text_list(value: str) -> list[str]:
    """A comma-separated TEXT list (CATEGORIES), honouring escaped commas."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for c in value:
        if escaped:
            current.append("\\" + c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return [unescape_text(part) for part in parts]


def parse_icalendar(
    text: str,
    catalog: Mapping[str, OfficeCatalog],
    default_office: str | None = None,
    now: datetime | None = None,
) -> list[AppointmentRow]:
    checker = _Checker(catalog, default_office, now)
    try:
        lines = content_lines(text.removeprefix("\ufeff"))
    except IcsSyntaxError as exc:
        raise AppointmentImportError([Problem(exc.line, "ics_invalid", exc.reason)]) from None
    if not lines or lines[0].name != "BEGIN" or lines[0].value.upper() != "VCALENDAR":
        first = lines[0].line if lines else 1
        raise AppointmentImportError([Problem(first, "ics_invalid", "not an iCalendar file")])
    stack: list[tuple[str, int]] = []
    event: list[ContentLine] | None = None
    events = 0
    for cl in lines:
        if cl.name == "BEGIN":
            stack.append((cl.value.upper(), cl.line))
            if stack[-1][0] == "VEVENT" and len(stack) == 2:
                event = [cl]
            continue
        if cl.name == "END":
            if not stack or stack[-1][0] != cl.value.upper():
                expected = stack[-1][0] if stack else "nothing"
                raise AppointmentImportError(
                    [Problem(cl.line, "ics_invalid", f"END:{cl.value} where {expected} is open")]
                )
            component, _ = stack.pop()
            if component == "VEVENT" and event is not None and not stack[1:]:
                events += 1
                if events > MAX_ROWS:
                    checker.report(cl.line, "too_many_rows", f"more than {MAX_ROWS} events")
                    break
                _ics_event(checker, event)
                event = None
            continue
        if event is not None and len(stack) == 2:
            event.append(cl)
    if stack:
        component, line = stack[-1]
        checker.report(line, "ics_invalid", f"BEGIN:{component} is never closed")
    return checker.finish()


def _ics_event(checker: _Checker, event: list[ContentLine]) -> None:
    begin = event[0].line
    props: dict[str, ContentLine] = {}
    for cl in event[1:]:
        props.setdefault(cl.name, cl)
    if props.get("STATUS") and props["STATUS"].value.strip().upper() == "CANCELLED":
        return
    before = len(checker.problems)
    if "RRULE" in props or "RDATE" in props:
        checker.report(
            props.get("RRULE", props.get("RDATE", event[0])).line,
            "recurrence_unsupported",
            "repeating events are not appointments",
        )

    def text(name: str) -> tuple[int, str]:
        cl = props.get(name)
        return (cl.line, unescape_text(cl.value)) if cl else (begin, "")

    line, uid = text("UID")
    external_id = checker.external_id(line, uid)
    line, office_text = text("X-OFFICE360-OFFICE")
    office = checker.office(line, office_text)
    service_line, service_text = text("X-OFFICE360-SERVICE")
    if not service_text and "CATEGORIES" in props and office is not None:
        service_line = props["CATEGORIES"].line
        known = checker.catalog[office].services
        matches = [c.strip() for c in split_text_list(props["CATEGORIES"].value)]
        service_text = next((c for c in matches if c in known), "")
    # with the office unknown (already reported) there is nothing to check a category against
    skip_service = office is None and not service_text
    service = None if skip_service else checker.service(service_line, office, service_text)
    start = checker.start(*_ics_start(checker, props.get("DTSTART"), begin, checker.zone(office)))

    attendee = props.get("ATTENDEE")
    cn = attendee.params.get("CN", [""])[0] if attendee else ""
    mailto = attendee.value.strip() if attendee else ""
    email = mailto[7:] if mailto.lower().startswith("mailto:") else ""
    name_line, name = text("X-OFFICE360-NAME")
    if not name and cn:
        name_line, name = attendee.line if attendee else begin, cn
    if not name:
        name_line, name = text("SUMMARY")
    name = checker.name(name_line, name)
    email = checker.email(attendee.line if attendee else begin, email)
    phone = checker.phone(*text("X-OFFICE360-PHONE"))
    mode_line, mode = text("X-OFFICE360-MODE")
    video = checker.mode(mode_line, mode)
    if len(checker.problems) == before and office and service and start:
        checker.rows.append(
            AppointmentRow(begin, external_id, office, service, start, name, email, phone, video)
        )


def _ics_start(
    checker: _Checker, cl: ContentLine | None, begin: int, zone: ZoneInfo | None
) -> tuple[int, datetime | None]:
    if cl is None:
        checker.report(begin, "start_missing", "the event has no DTSTART")
        return begin, None
    value = cl.value.strip()
    if cl.params.get("VALUE", [""])[0].upper() == "DATE" or re.fullmatch(r"\d{8}", value):
        checker.report(cl.line, "start_invalid", "an all-day event has no appointment time")
        return cl.line, None
    match = re.fullmatch(r"(\d{8}T\d{6})(Z?)", value)
    if not match:
        checker.report(cl.line, "start_invalid", f"not an iCalendar date-time: {value!r}")
        return cl.line, None
    try:
        naive = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")
    except ValueError:
        checker.report(cl.line, "start_invalid", f"no such date-time: {value!r}")
        return cl.line, None
    if match.group(2):
        return cl.line, naive.replace(tzinfo=UTC)
    tzid = cl.params.get("TZID", [""])[0]
    if tzid:
        try:
            zone = ZoneInfo(tzid.lstrip("/"))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            checker.report(cl.line, "tzid_unknown", f"unknown time zone {tzid!r}; use IANA names")
            return cl.line, None
    if zone is None:
        return cl.line, None  # the office is already reported
    aware = _naive_to_zone(naive, zone)
    if aware is None:
        checker.report(cl.line, "start_invalid", f"{value} does not exist in {zone.key}")
    return cl.line, aware
