"""Service KPIs from ticket records, per office, service, desk, hour of day and day.

Definitions (all times in seconds unless the name says minutes):

- **issued**: tickets whose `issued_at` falls in the group. Hour of day and day are read from
  `issued_at` as given: pass the office's local times.
- **waiting time**: from the moment the citizen could be called to the *first* call; recalls do not
  reset it. That moment is `issued_at`, except for an appointment checked in before its slot, where
  it is `slot_at`: waiting for one's own appointment time is not queueing. Only tickets that were
  called have one; a negative interval (clock skew, or an appointment called early) counts as 0.
- **service time**: `started_at` → `finished_at`, for tickets with both.
- **call to arrival**: first call → `started_at` (walking to the desk, including recalls).
- **within target**: share of called tickets whose waiting time is at most the service-level target
  (`ServiceLevel.target_s`); `target_met` says whether that share reaches `ServiceLevel.goal`.
- **no-show rate**: tickets ending `no_show` over tickets called.
- **transfers**: tickets that ended `transferred` (sent on to another service); `transfer_rate` is
  over tickets started. `transferred_in` counts tickets that arrived through a transfer.
- **punctuality**: for tickets with both `slot_at` and `checked_in_at`, the check-in minus the slot:
  *early* below `-grace`, *late* above `+grace`, *on time* in between; the mean is signed minutes
  (negative: early).
- **channel shares**: issued tickets per channel over all issued.
- Percentiles interpolate linearly between the two closest ranks of the sorted values (the median
  of an even count is the mean of the middle two). Empty groups give None, never 0.

`compute_kpis` is one pass over the records into cells of (office, service, desk, hour) and
(office, day). The hub takes a second road to the same cells: its database rows become
`TicketFacts` (no `TicketRecord`), collected per office-day into `DayCells` (`collect_days`),
which a cache can keep for days that are over; `compute_kpis_from_days` joins them. Each
cell is sorted once; an office, service, desk or hour group is a set of such sorted cells, and
its percentiles are read across them by `kth_of_runs` without sorting again.
The report holds counts and durations only, never a name or any other personal data.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from itertools import accumulate, repeat
from operator import lshift
from typing import IO, Any

from .errors import Invalid
from .model import Channel, TicketStatus

CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
STATUSES: frozenset[str] = frozenset(s.value for s in TicketStatus)
DIMENSIONS: tuple[str, ...] = ("office", "service", "desk", "hour", "day")
_OPTIONAL_TIMES = ("called_at", "started_at", "finished_at", "slot_at", "checked_in_at")


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """One ticket as the KPIs see it: no name, no contact, no document number."""

    office: str
    service: str
    desk: str | None
    channel: str
    issued_at: datetime
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status: str = TicketStatus.WAITING.value
    slot_at: datetime | None = None
    checked_in_at: datetime | None = None
    transferred: bool = False
    recalls: int = 0

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise Invalid(
                "kpi_channel_unknown",
                f"unknown channel {self.channel!r} (expected one of {', '.join(CHANNELS)})",
                channel=self.channel,
            )
        if self.status not in STATUSES:
            raise Invalid(
                "kpi_status_unknown",
                f"unknown ticket status {self.status!r}",
                status=self.status,
            )
        if not isinstance(self.issued_at, datetime):
            raise Invalid("kpi_issued_at_missing", "a ticket record needs its issue time")
        for name in _OPTIONAL_TIMES:
            moment = getattr(self, name)
            if moment is not None and not isinstance(moment, datetime):
                raise Invalid("kpi_time_invalid", f"{name} must be a datetime or None", field=name)
        if self.recalls < 0:
            raise Invalid("kpi_recalls_negative", "recalls cannot be negative")


@dataclass(frozen=True)
class ServiceLevel:
    """`goal` of the called tickets should wait at most `target_s` (e.g. 80 % within 10 min)."""

    target_s: float = 600.0
    goal: float = 0.8

    def __post_init__(self) -> None:
        if not (self.target_s > 0 and math.isfinite(self.target_s)):
            raise Invalid("service_level_invalid", "the service-level target must be > 0 seconds")
        if not 0 < self.goal <= 1:
            raise Invalid("service_level_invalid", "the service-level goal must be in (0, 1]")


@dataclass(frozen=True)
class Distribution:
    count: int
    mean: float | None
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Punctuality:
    count: int
    early_share: float | None
    on_time_share: float | None
    late_share: float | None
    mean_minutes: float | None


@dataclass(frozen=True)
class GroupKpi:
    """The KPIs of one group: `dimension` names the grouping, `key` the value ('' for office)."""

    dimension: str
    office: str
    key: str
    issued: int
    called: int
    served: int
    no_shows: int
    cancelled: int
    transfers: int
    transferred_in: int
    recalls: int
    waiting: Distribution
    service: Distribution
    call_to_arrival: Distribution
    within_target: float | None
    target_met: bool | None
    no_show_rate: float | None
    transfer_rate: float | None
    channels: dict[str, int]
    punctuality: Punctuality

    def channel_share(self, channel: str) -> float | None:
        return self.channels.get(channel, 0) / self.issued if self.issued else None


ROW_FIELDS: tuple[str, ...] = (
    "dimension",
    "office",
    "key",
    "issued",
    "called",
    "served",
    "no_shows",
    "cancelled",
    "transfers",
    "transferred_in",
    "recalls",
    "wait_mean_s",
    "wait_median_s",
    "wait_p90_s",
    "within_target_share",
    "target_met",
    "service_mean_s",
    "service_median_s",
    "service_p90_s",
    "call_to_arrival_mean_s",
    "call_to_arrival_median_s",
    "call_to_arrival_p90_s",
    "no_show_rate",
    "transfer_rate",
    *(f"share_{c}" for c in CHANNELS),
    "punctuality_count",
    "early_share",
    "on_time_share",
    "late_share",
    "punctuality_mean_min",
)


@dataclass(frozen=True)
class KpiReport:
    service_level: ServiceLevel
    punctuality_grace_s: float
    first_day: date | None
    last_day: date | None
    groups: tuple[GroupKpi, ...]

    def select(self, dimension: str, office: str | None = None) -> list[GroupKpi]:
        return [
            g
            for g in self.groups
            if g.dimension == dimension and (office is None or g.office == office)
        ]

    def group(self, dimension: str, office: str, key: str = "") -> GroupKpi | None:
        return next(
            (
                g
                for g in self.groups
                if g.dimension == dimension and g.office == office and g.key == key
            ),
            None,
        )

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per group with the columns of `ROW_FIELDS`; None where undefined."""
        return [_row(g) for g in self.groups]

    def write_csv(self, stream: IO[str]) -> None:
        writer = csv.DictWriter(stream, fieldnames=ROW_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.to_rows())

    def to_dict(self) -> dict[str, Any]:
        return {
            "service_level": asdict(self.service_level),
            "punctuality_grace_s": self.punctuality_grace_s,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "groups": [asdict(g) for g in self.groups],
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) of already sorted values, interpolating between closest ranks."""
    n = len(ordered)
    if n == 0:
        return None
    pos = (n - 1) * q
    lo = int(pos)
    if lo + 1 >= n:
        return float(ordered[-1])
    return ordered[lo] + (ordered[lo + 1] - ordered[lo]) * (pos - lo)


def distribution(runs: Sequence[Sequence[float]], total: float | None = None) -> Distribution:
    """Mean, median and p90 of the values in `runs`, each run already sorted.

    `total` is their sum when the caller already has it.
    """
    runs = [r for r in runs if r]
    n = sum(map(len, runs))
    if n == 0:
        return Distribution(0, None, None, None)
    if total is None:
        total = sum(map(sum, runs))
    return Distribution(n, total / n, quantile_of_runs(runs, 0.5), quantile_of_runs(runs, 0.9))


def quantile_of_runs(runs: Sequence[Sequence[float]], q: float) -> float:
    """`percentile` of all the values in non-empty sorted `runs`, as if merged and sorted."""
    n = sum(map(len, runs))
    if len(runs) == 1:
        run = runs[0]
        pos = (n - 1) * q
        k = int(pos)
        return run[k] if k + 1 >= n else run[k] + (run[k + 1] - run[k]) * (pos - k)
    pos = (n - 1) * q
    k = int(pos)
    low = kth_of_runs(runs, k)
    if pos == k:
        return low
    if sum(bisect_right(r, low) for r in runs) > k + 1:
        high = low  # the (k+1)-th value is a repeat of the k-th
    else:
        high = min(r[i] for r in runs if (i := bisect_right(r, low)) < len(r))
    return low + (high - low) * (pos - k)


def kth_of_runs(runs: Sequence[Sequence[float]], k: int) -> float:
    """The k-th smallest value (from 0) across sorted runs, without merging them.

    Bisects on value; after each step the bounds snap to values actually present, so the
    answer is exact. Each step costs one binary search per run.
    """
    lo = min(r[0] for r in runs)
    hi = max(r[-1] for r in runs)
    while lo < hi:
        mid = lo + (hi - lo) / 2
        if not lo < mid < hi:
            mid = lo  # adjacent floats: decide on lo itself
        cuts = [bisect_right(r, mid) for r in runs]
        if sum(cuts) > k:
            hi = max(r[c - 1] for r, c in zip(runs, cuts, strict=True) if c)
        else:
            lo = min(r[c] for r, c in zip(runs, cuts, strict=True) if c < len(r))
    return lo


class _Cell:
    """The tickets of one (office, service, desk, hour) or one (office, day), as collected."""

    __slots__ = (
        "arrivals",
        "counts",
        "punctual",
        "recalls",
        "services",
        "sums",
        "transf_in",
        "waits",
    )

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.services: list[float] = []
        self.arrivals: list[float] = []
        self.punctual: list[float] = []
        self.counts: dict[tuple[str, str], int] = {}  # (channel, status) -> tickets
        self.transf_in = 0
        self.recalls = 0
        self.sums: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)

    def lists(self) -> tuple[list[float], list[float], list[float], list[float]]:
        return (self.waits, self.services, self.arrivals, self.punctual)

    def sort(self) -> None:
        """Sort each list once, and sum it once for the means of every group it joins."""
        lists = self.lists()
        for values in lists:
            values.sort()
        self.sums = tuple(map(sum, lists))


class _Group:
    """A group of the report: the sorted lists of the cells it covers, and their counts."""

    __slots__ = (
        "arrivals",
        "counts",
        "punctual",
        "recalls",
        "services",
        "sums",
        "transf_in",
        "waits",
    )

    def __init__(self) -> None:
        self.waits: list[list[float]] = []
        self.services: list[list[float]] = []
        self.arrivals: list[list[float]] = []
        self.punctual: list[list[float]] = []
        self.counts: dict[tuple[str, str], int] = {}
        self.transf_in = 0
        self.recalls = 0
        self.sums = [0.0, 0.0, 0.0, 0.0]  # waits, services, arrivals, punctual

    def add(self, cell: _Cell) -> None:
        """Takes a sorted cell."""
        self.waits.append(cell.waits)
        self.services.append(cell.services)
        self.arrivals.append(cell.arrivals)
        self.punctual.append(cell.punctual)
        counts = self.counts
        for combo, n in cell.counts.items():
            counts[combo] = counts.get(combo, 0) + n
        self.transf_in += cell.transf_in
        self.recalls += cell.recalls
        for i, total in enumerate(cell.sums):
            self.sums[i] += total

    def tally(self, position: int) -> dict[str, int]:
        """Tickets per channel (position 0) or per status (position 1)."""
        out: dict[str, int] = {}
        for combo, n in self.counts.items():
            out[combo[position]] = out.get(combo[position], 0) + n
        return out


TicketFacts = tuple[
    str,  # office
    str,  # service
    str | None,  # desk
    int,  # hour of day of issue (local)
    int,  # proleptic Gregorian ordinal of the day of issue (local)
    str,  # channel
    str,  # status
    float | None,  # waiting time (s): first call minus the later of issue and slot
    float | None,  # call to arrival (s): start minus first call
    float | None,  # service time (s): finish minus start
    float | None,  # punctuality (s): check-in minus slot
    bool,  # transferred in
    int,  # recalls
]
"""One ticket reduced to what the KPIs group and measure, in this order. Durations are raw
differences (negative ones count as 0, as in `compute_kpis`); None where a time is missing."""


def compute_kpis(
    records: Iterable[TicketRecord],
    *,
    service_level: ServiceLevel | None = None,
    punctuality_grace_s: float = 300.0,
) -> KpiReport:
    """KPIs per office, service, desk, hour and day; see the module docstring for definitions.

    Same report as `compute_kpis_from_facts(ticket_facts(records))`; this one pass straight over
    the records is kept as it is about a third faster for records already in memory."""
    level = service_level or ServiceLevel()
    _check_grace(punctuality_grace_s)
    try:
        by_hour, by_day = _collect_records(records)
    except TypeError as exc:  # naive and timezone-aware datetimes cannot be subtracted
        raise Invalid(
            "kpi_time_mixed", "ticket times mix naive and timezone-aware datetimes"
        ) from exc
    for cell in by_day.values():
        cell.sort()
    return _report(by_hour, by_day, level, punctuality_grace_s)


def ticket_facts(records: Iterable[TicketRecord]) -> Iterator[TicketFacts]:
    """Each record as the facts the KPIs read from it."""
    for r in records:
        issued = r.issued_at
        called = r.called_at
        started = r.started_at
        finished = r.finished_at
        slot = r.slot_at
        wait = walk = span = punctual = None
        if called is not None:
            wait = (
                called - (slot if slot is not None and slot > issued else issued)
            ).total_seconds()
            if started is not None:
                walk = (started - called).total_seconds()
        if started is not None and finished is not None:
            span = (finished - started).total_seconds()
        if slot is not None and r.checked_in_at is not None:
            punctual = (r.checked_in_at - slot).total_seconds()
        yield (
            r.office,
            r.service,
            r.desk,
            issued.hour,
            issued.toordinal(),
            r.channel,
            r.status,
            wait,
            walk,
            span,
            punctual,
            r.transferred,
            r.recalls,
        )


def compute_kpis_from_facts(
    facts: Iterable[TicketFacts],
    *,
    service_level: ServiceLevel | None = None,
    punctuality_grace_s: float = 300.0,
) -> KpiReport:
    """`compute_kpis` over tickets already reduced to `TicketFacts` (trusted input, e.g. rows
    of the hub's own database): no `TicketRecord` is built and nothing is validated again."""
    level = service_level or ServiceLevel()
    _check_grace(punctuality_grace_s)
    return compute_kpis_from_days(
        collect_days(facts), service_level=level, punctuality_grace_s=punctuality_grace_s
    )


def _check_grace(grace: float) -> None:
    if not grace >= 0:
        raise Invalid("punctuality_grace_invalid", "the punctuality grace must be >= 0 seconds")


MEASURES = ("waits", "services", "arrivals", "punctual")
"""The value lists of a cell, in the order `DayCells` packs them."""
_BIG_ENDIAN = sys.byteorder == "big"
_Key = tuple[str, str | None, int]  # (service, desk, hour of day)
_COMBOS: tuple[tuple[str, str], ...] = tuple((c, s) for c in CHANNELS for s in sorted(STATUSES))
"""Every (channel, status): `DayCells` counts tickets by index into this."""
_COMBO_INDEX = {combo: i for i, combo in enumerate(_COMBOS)}


class DayCells:
    """The tickets of one office-day, collected and packed.

    Per (service, desk, hour) cell, in the order of `keys`: its tickets per (channel, status)
    (`counts`: index into `_COMBOS`, tickets, index, tickets...), transfers in and recalls, and its values of each of the `MEASURES`, sorted and
    packed as little-endian doubles measure by measure: `values[m]` holds every cell's run one
    after the other, `sizes[4 * i + m]` is the length of cell i's run. The day as a whole is
    kept too (`day_values`: each measure's values of the whole day, sorted; `day_counts`).
    Bytes, not millions of float objects: a year is a few MiB, and a report joins the cells of
    its days by slicing bytes. Never changed once built, so a report cache may keep the DayCells
    of days that are over, in memory or stored (`pack_days`, `unpack_days`)."""

    __slots__ = (
        "counts",
        "day_counts",
        "day_values",
        "keys",
        "office",
        "ordinal",
        "recalls",
        "sizes",
        "spans",
        "transferred_in",
        "values",
    )

    def __init__(
        self,
        office: str,
        ordinal: int,
        keys: Sequence[_Key],
        sizes: Sequence[int],
        values: Sequence[bytes],
        counts: Sequence[Sequence[int]],
        transferred_in: Sequence[int],
        recalls: Sequence[int],
        day_values: Sequence[bytes],
        day_counts: dict[tuple[str, str], int],
    ) -> None:
        cells = len(keys)
        if (
            len(sizes) != cells * len(MEASURES)
            or len(values) != len(MEASURES)
            or not len(counts) == len(transferred_in) == len(recalls) == cells
            or [len(v) for v in day_values] != [len(v) for v in values]
            or not set(map(len, keys)) <= {3}
        ):
            raise Invalid("kpi_day_cells_invalid", "the packed cells of a day do not add up")
        # the byte spans of each cell's four runs, in the order of `MEASURES` (8 bytes a value)
        bounds: list[list[int]] = []
        for m, packed in enumerate(values):
            ends = [0, *accumulate(map(lshift, sizes[m :: len(MEASURES)], repeat(3)))]
            if ends[-1] != len(packed):
                raise Invalid("kpi_day_cells_invalid", "the packed cells of a day do not add up")
            bounds += (ends[:-1], ends[1:])
        spans = zip(*bounds, strict=True)
        self.office = office
        self.ordinal = ordinal
        self.keys = tuple(keys)
        self.sizes = tuple(sizes)
        self.spans = tuple(spans)
        self.values = tuple(values)
        self.counts = tuple(map(tuple, counts))
        self.transferred_in = tuple(transferred_in)
        self.recalls = tuple(recalls)
        self.day_values = tuple(day_values)
        self.day_counts = day_counts

    @classmethod
    def pack(cls, office: str, ordinal: int, cells: dict[_Key, _Cell]) -> DayCells:
        """The cells of one office-day, as `collect_days` fills them (their lists get sorted)."""
        sizes: list[int] = []
        flat: tuple[list[float], ...] = ([], [], [], [])
        day_counts: dict[tuple[str, str], int] = {}
        for cell in cells.values():
            for m, values in enumerate(cell.lists()):
                values.sort()
                sizes.append(len(values))
                flat[m].extend(values)
            for combo, n in cell.counts.items():
                day_counts[combo] = day_counts.get(combo, 0) + n
        return cls(
            office,
            ordinal,
            list(cells),
            sizes,
            [_doubles_to_bytes(values) for values in flat],
            [_indexed(cell.counts) for cell in cells.values()],
            [cell.transf_in for cell in cells.values()],
            [cell.recalls for cell in cells.values()],
            [_doubles_to_bytes(sorted(values)) for values in flat],
            day_counts,
        )

    def statuses(self) -> set[str]:
        return {status for _, status in self.day_counts}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DayCells):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


def _indexed(counts: dict[tuple[str, str], int]) -> tuple[int, ...]:
    try:
        return tuple(x for combo, n in counts.items() for x in (_COMBO_INDEX[combo], n))
    except KeyError as exc:
        raise Invalid(
            "kpi_status_unknown", f"unknown ticket channel or status {exc.args[0]!r}"
        ) from exc


def _doubles_to_bytes(values: list[float]) -> bytes:
    packed = array("d", values)
    if _BIG_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def _doubles(parts: Sequence[bytes | memoryview]) -> list[float]:
    """The doubles of packed runs, joined, as floats."""
    values = array("d")
    values.frombytes(parts[0] if len(parts) == 1 else b"".join(parts))
    if _BIG_ENDIAN:
        values.byteswap()
    return values.tolist()


DAYS_FORMAT = 1
"""Version of `pack_days`' layout; a reader of another version reads the tickets again."""


def pack_days(parts: Sequence[DayCells]) -> tuple[str, bytes]:
    """DayCells (e.g. the parts of one stored office-day) as JSON text (keys and counts: no
    personal data) and bytes (each part's packed values, then its day's values)."""
    described = []
    for found in parts:
        described.append(
            {
                "office": found.office,
                "ordinal": found.ordinal,
                "keys": found.keys,
                "sizes": found.sizes,
                "counts": found.counts,  # per cell: combo index, tickets, combo index, tickets...
                "day_counts": _indexed(found.day_counts),
                "transferred_in": found.transferred_in,
                "recalls": found.recalls,
            }
        )
    text = json.dumps(
        {"combos": _COMBOS, "days": described}, separators=(",", ":"), ensure_ascii=False
    )
    return text, b"".join(v for found in parts for v in (*found.values, *found.day_values))


def unpack_days(text: str, blob: bytes) -> list[DayCells]:
    """What `pack_days` packed; `Invalid("kpi_day_cells_invalid")` for anything else."""
    try:
        stored = json.loads(text)
        if [tuple(combo) for combo in stored["combos"]] != list(_COMBOS):
            raise ValueError("stored with other channels or statuses")
        described = stored["days"]
        view = memoryview(blob)
        at = 0
        out = []
        for d in described:
            sizes = d["sizes"]
            values = []
            for m in range(len(MEASURES)):
                end = at + 8 * sum(sizes[m :: len(MEASURES)])
                values.append(view[at:end])
                at = end
            day_values = []
            for v in values:
                day_values.append(view[at : at + len(v)])
                at += len(v)
            day_counts = iter(d["day_counts"])
            out.append(
                DayCells(
                    str(d["office"]),
                    int(d["ordinal"]),
                    list(map(tuple, d["keys"])),
                    sizes,
                    [v.tobytes() for v in values],
                    d["counts"],
                    d["transferred_in"],
                    d["recalls"],
                    [v.tobytes() for v in day_values],
                    {_COMBOS[i]: n for i, n in zip(day_counts, day_counts, strict=True)},
                )
            )
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise Invalid("kpi_day_cells_invalid", f"stored day cells unreadable: {exc}") from exc
    if at != len(blob):
        raise Invalid("kpi_day_cells_invalid", "stored day cells: values left over")
    return out


def collect_days(facts: Iterable[TicketFacts]) -> list[DayCells]:
    """The one pass: each ticket into its (service, desk, hour) cell of its office-day."""
    days: dict[tuple[str, int], dict[_Key, _Cell]] = {}
    day_office: str | None = None
    day_ordinal = -1
    cells: dict[_Key, _Cell] = {}
    try:
        for (
            office,
            service,
            desk,
            hour,
            ordinal,
            channel,
            status,
            wait,
            walk,
            span,
            punctual,
            transferred,
            recalls,
        ) in facts:
            if ordinal != day_ordinal or office != day_office:
                # tickets usually come in time order: keep the day's cells at hand
                day_office, day_ordinal = office, ordinal
                cells = days.setdefault((office, ordinal), {})
            key = (service, desk, hour)
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = _Cell()
            if wait is not None:
                cell.waits.append(0.0 if wait < 0 else wait)
                if walk is not None:
                    cell.arrivals.append(0.0 if walk < 0 else walk)
            if span is not None:
                cell.services.append(0.0 if span < 0 else span)
            if punctual is not None:
                cell.punctual.append(punctual)
            combo = (channel, status)
            counts = cell.counts
            counts[combo] = counts.get(combo, 0) + 1
            if transferred:
                cell.transf_in += 1
            if recalls:
                cell.recalls += recalls
    except TypeError as exc:  # naive and timezone-aware datetimes cannot be subtracted
        raise Invalid(
            "kpi_time_mixed", "ticket times mix naive and timezone-aware datetimes"
        ) from exc
    return [DayCells.pack(office, ordinal, found) for (office, ordinal), found in days.items()]


class _Pieces:
    """The packed runs of one (office, service, desk, hour) over the days of a report."""

    __slots__ = ("arrivals", "counts", "punctual", "recalls", "services", "transf_in", "waits")

    def __init__(self) -> None:
        self.waits: list[memoryview] = []
        self.services: list[memoryview] = []
        self.arrivals: list[memoryview] = []
        self.punctual: list[memoryview] = []
        self.counts = [0] * len(_COMBOS)
        self.transf_in = 0
        self.recalls = 0

    def cell(self) -> _Cell:
        cell = _Cell()
        cell.waits = _doubles(self.waits)
        cell.services = _doubles(self.services)
        cell.arrivals = _doubles(self.arrivals)
        cell.punctual = _doubles(self.punctual)
        cell.counts = {_COMBOS[i]: n for i, n in enumerate(self.counts) if n}
        cell.transf_in = self.transf_in
        cell.recalls = self.recalls
        return cell


def compute_kpis_from_days(
    days: Iterable[DayCells],
    *,
    service_level: ServiceLevel | None = None,
    punctuality_grace_s: float = 300.0,
) -> KpiReport:
    """The report of the office-days collected by `collect_days`. One office-day may come in
    parts (tickets collected apart): the parts are joined."""
    level = service_level or ServiceLevel()
    _check_grace(punctuality_grace_s)
    fine: dict[str, dict[_Key, _Pieces]] = {}
    daily: dict[tuple[str, int], list[DayCells]] = {}
    for found in days:
        daily.setdefault((found.office, found.ordinal), []).append(found)
        pieces = fine.get(found.office)
        if pieces is None:
            pieces = fine[found.office] = {}
        waits, services, arrivals, punctual = (memoryview(v) for v in found.values)
        for key, (w0, w1, s0, s1, a0, a1, p0, p1), counts, into, recalls in zip(
            found.keys, found.spans, found.counts, found.transferred_in, found.recalls, strict=True
        ):
            piece = pieces.get(key)
            if piece is None:
                piece = pieces[key] = _Pieces()
            if w1 != w0:
                piece.waits.append(waits[w0:w1])
            if s1 != s0:
                piece.services.append(services[s0:s1])
            if a1 != a0:
                piece.arrivals.append(arrivals[a0:a1])
            if p1 != p0:
                piece.punctual.append(punctual[p0:p1])
            tally = piece.counts
            pairs = iter(counts)
            for i, n in zip(pairs, pairs, strict=True):
                tally[i] += n
            if into:
                piece.transf_in += into
            if recalls:
                piece.recalls += recalls
    by_hour = {
        (office, *key): piece.cell()
        for office, pieces in fine.items()
        for key, piece in pieces.items()
    }
    by_day: dict[tuple[str, int], _Cell] = {}
    for day_key, parts in daily.items():
        cell = by_day[day_key] = _Cell()
        lists = [_doubles([found.day_values[m] for found in parts]) for m in range(len(MEASURES))]
        cell.waits, cell.services, cell.arrivals, cell.punctual = lists
        for found in parts:
            for combo, n in found.day_counts.items():
                cell.counts[combo] = cell.counts.get(combo, 0) + n
            cell.transf_in += sum(found.transferred_in)
            cell.recalls += sum(found.recalls)
        if len(parts) > 1:
            cell.sort()
        else:  # each part's day values are sorted already
            cell.sums = tuple(map(sum, lists))
    return _report(by_hour, by_day, level, punctuality_grace_s)


def _report(
    by_hour: dict[tuple[str, str, str | None, int], _Cell],
    by_day: dict[tuple[str, int], _Cell],
    level: ServiceLevel,
    punctuality_grace_s: float,
) -> KpiReport:
    """The groups of the report from its cells (the day cells already sorted)."""
    merged: dict[tuple[str, str, str], _Group] = {}
    for (office, service, desk, hour), cell in sorted(by_hour.items(), key=_fine_order):
        cell.sort()
        for group_key in (
            ("office", office, ""),
            ("service", office, service),
            ("desk", office, desk or ""),
            ("hour", office, f"{hour:02d}"),
        ):
            group = merged.get(group_key)
            if group is None:
                group = merged[group_key] = _Group()
            group.add(cell)
    for (office, ordinal), cell in sorted(by_day.items()):
        group = merged[("day", office, date.fromordinal(ordinal).isoformat())] = _Group()
        group.add(cell)

    order = {d: i for i, d in enumerate(DIMENSIONS)}
    groups = tuple(
        _finish(dim, office, key, group, level, punctuality_grace_s)
        for (dim, office, key), group in sorted(
            merged.items(), key=lambda item: (item[0][1], order[item[0][0]], item[0][2])
        )
    )
    ordinals = [ordinal for _, ordinal in by_day]
    return KpiReport(
        level,
        punctuality_grace_s,
        date.fromordinal(min(ordinals)) if ordinals else None,
        date.fromordinal(max(ordinals)) if ordinals else None,
        groups,
    )


def _collect_records(
    records: Iterable[TicketRecord],
) -> tuple[dict[tuple[str, str, str | None, int], _Cell], dict[tuple[str, int], _Cell]]:
    """The one pass: each ticket into its (office, service, desk, hour) and (office, day) cell."""
    by_hour: dict[tuple[str, str, str | None, int], _Cell] = {}
    by_day: dict[tuple[str, int], _Cell] = {}
    day_key: tuple[str, int] | None = None
    daily = _Cell()
    for r in records:
        issued = r.issued_at
        key = (r.office, r.service, r.desk, issued.hour)
        fine = by_hour.get(key)
        if fine is None:
            fine = by_hour[key] = _Cell()
        this_day = (r.office, issued.toordinal())
        if this_day != day_key:  # records usually come in time order: reuse the day's cell
            day_key = this_day
            daily = by_day.get(this_day) or by_day.setdefault(this_day, _Cell())
        called = r.called_at
        started = r.started_at
        if called is not None:
            slot = r.slot_at
            wait = (
                called - (slot if slot is not None and slot > issued else issued)
            ).total_seconds()
            if wait < 0:
                wait = 0.0
            fine.waits.append(wait)
            daily.waits.append(wait)
            if started is not None:
                walk = (started - called).total_seconds()
                if walk < 0:
                    walk = 0.0
                fine.arrivals.append(walk)
                daily.arrivals.append(walk)
        if started is not None and r.finished_at is not None:
            span = (r.finished_at - started).total_seconds()
            if span < 0:
                span = 0.0
            fine.services.append(span)
            daily.services.append(span)
        if r.slot_at is not None and r.checked_in_at is not None:
            delta = (r.checked_in_at - r.slot_at).total_seconds()
            fine.punctual.append(delta)
            daily.punctual.append(delta)
        combo = (r.channel, r.status)
        counts = fine.counts
        counts[combo] = counts.get(combo, 0) + 1
        counts = daily.counts
        counts[combo] = counts.get(combo, 0) + 1
        if r.transferred:
            fine.transf_in += 1
            daily.transf_in += 1
        if r.recalls:
            fine.recalls += r.recalls
            daily.recalls += r.recalls
    return by_hour, by_day


def _fine_order(
    item: tuple[tuple[str, str, str | None, int], _Cell],
) -> tuple[str, str, str, int]:
    office, service, desk, hour = item[0]
    return (office, service, desk or "", hour)


def _finish(
    dimension: str, office: str, key: str, group: _Group, level: ServiceLevel, grace: float
) -> GroupKpi:
    wait_sum, service_sum, arrival_sum, punctual_sum = group.sums
    waiting = distribution(group.waits, wait_sum)
    called = waiting.count
    within_count = sum(bisect_right(r, level.target_s) for r in group.waits)
    within = within_count / called if called else None
    statuses = group.tally(1)
    channels = group.tally(0)
    no_shows = statuses.get(TicketStatus.NO_SHOW.value, 0)
    transfers = statuses.get(TicketStatus.TRANSFERRED.value, 0)
    started = sum(map(len, group.arrivals))
    return GroupKpi(
        dimension=dimension,
        office=office,
        key=key,
        issued=sum(statuses.values()),
        called=called,
        served=statuses.get(TicketStatus.DONE.value, 0),
        no_shows=no_shows,
        cancelled=statuses.get(TicketStatus.CANCELLED.value, 0),
        transfers=transfers,
        transferred_in=group.transf_in,
        recalls=group.recalls,
        waiting=waiting,
        service=distribution(group.services, service_sum),
        call_to_arrival=distribution(group.arrivals, arrival_sum),
        within_target=within,
        target_met=None if within is None else within >= level.goal,
        no_show_rate=no_shows / called if called else None,
        transfer_rate=transfers / started if started else None,
        channels={c: channels[c] for c in CHANNELS if c in channels},
        punctuality=_punctuality(group.punctual, punctual_sum, grace),
    )


def _punctuality(runs: list[list[float]], total: float, grace: float) -> Punctuality:
    n = sum(map(len, runs))
    if n == 0:
        return Punctuality(0, None, None, None, None)
    early = sum(bisect_left(r, -grace) for r in runs)
    late = n - sum(bisect_right(r, grace) for r in runs)
    mean_minutes = total / n / 60
    return Punctuality(n, early / n, (n - early - late) / n, late / n, mean_minutes)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _row(g: GroupKpi) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dimension": g.dimension,
        "office": g.office,
        "key": g.key,
        "issued": g.issued,
        "called": g.called,
        "served": g.served,
        "no_shows": g.no_shows,
        "cancelled": g.cancelled,
        "transfers": g.transfers,
        "transferred_in": g.transferred_in,
        "recalls": g.recalls,
    }
    for prefix, dist in (
        ("wait", g.waiting),
        ("service", g.service),
        ("call_to_arrival", g.call_to_arrival),
    ):
        row[f"{prefix}_mean_s"] = _round(dist.mean, 1)
        row[f"{prefix}_median_s"] = _round(dist.median, 1)
        row[f"{prefix}_p90_s"] = _round(dist.p90, 1)
        if prefix == "wait":
            row["within_target_share"] = _round(g.within_target, 4)
            row["target_met"] = g.target_met
    row["no_show_rate"] = _round(g.no_show_rate, 4)
    row["transfer_rate"] = _round(g.transfer_rate, 4)
    for channel in CHANNELS:
        row[f"share_{channel}"] = _round(g.channel_share(channel), 4)
    p = g.punctuality
    row["punctuality_count"] = p.count
    row["early_share"] = _round(p.early_share, 4)
    row["on_time_share"] = _round(p.on_time_share, 4)
    row["late_share"] = _round(p.late_share, 4)
    row["punctuality_mean_min"] = _round(p.mean_minutes, 2)
    return {name: row[name] for name in ROW_FIELDS}


# ---- comparing two periods -------------------------------------------------------------------

_ID_FIELDS = frozenset({"dimension", "office", "key"})


@dataclass(frozen=True)
class MetricDelta:
    """One metric in period A and period B; `delta` is B - A, `change` is delta / A."""

    metric: str
    a: float | bool | None
    b: float | bool | None
    delta: float | None
    change: float | None


@dataclass(frozen=True)
class GroupDelta:
    dimension: str
    office: str
    key: str
    in_a: bool
    in_b: bool
    metrics: tuple[MetricDelta, ...] = field(default_factory=tuple)

    def metric(self, name: str) -> MetricDelta:
        return next(m for m in self.metrics if m.metric == name)


COMPARISON_FIELDS: tuple[str, ...] = (
    "dimension",
    "office",
    "key",
    "metric",
    "a",
    "b",
    "delta",
    "change",
)


@dataclass(frozen=True)
class KpiComparison:
    groups: tuple[GroupDelta, ...]

    def group(self, dimension: str, office: str, key: str = "") -> GroupDelta | None:
        return next(
            (g for g in self.groups if (g.dimension, g.office, g.key) == (dimension, office, key)),
            None,
        )

    def to_rows(self) -> list[dict[str, Any]]:
        """Long format: one row per group and metric."""
        return [
            {
                "dimension": g.dimension,
                "office": g.office,
                "key": g.key,
                "metric": m.metric,
                "a": m.a,
                "b": m.b,
                "delta": _round(m.delta, 4),
                "change": _round(m.change, 4),
            }
            for g in self.groups
            for m in g.metrics
        ]

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps({"groups": [asdict(g) for g in self.groups]}, indent=indent)


def compare(
    period_a: KpiReport,
    period_b: KpiReport,
    dimensions: Sequence[str] = ("office", "service", "desk", "hour"),
) -> KpiComparison:
    """Metric by metric, B minus A, for the groups of either period.

    Days are left out by default: the days of two periods never line up. A group found in only
    one period keeps its values on that side and has no delta.
    """
    unknown = set(dimensions) - set(DIMENSIONS)
    if unknown:
        raise Invalid(
            "kpi_dimension_unknown", f"unknown dimension(s): {', '.join(sorted(unknown))}"
        )
    rows_a = {_ident(r): r for r in period_a.to_rows() if r["dimension"] in dimensions}
    rows_b = {_ident(r): r for r in period_b.to_rows() if r["dimension"] in dimensions}
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    idents = sorted(rows_a.keys() | rows_b.keys(), key=lambda k: (k[1], order[k[0]], k[2]))
    groups = []
    for ident in idents:
        row_a, row_b = rows_a.get(ident), rows_b.get(ident)
        metrics = tuple(
            _metric_delta(name, row_a and row_a[name], row_b and row_b[name])
            for name in ROW_FIELDS
            if name not in _ID_FIELDS
        )
        groups.append(GroupDelta(*ident, row_a is not None, row_b is not None, metrics))
    return KpiComparison(tuple(groups))


def _ident(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["dimension"], row["office"], row["key"])


def _metric_delta(name: str, a: Any, b: Any) -> MetricDelta:
    numeric = (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )
    if not numeric:
        return MetricDelta(name, a, b, None, None)
    delta = b - a
    return MetricDelta(name, a, b, delta, delta / a if a else None)
