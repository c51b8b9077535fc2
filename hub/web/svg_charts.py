"""Bar and line charts drawn by the hub as inline SVG: no script, nothing from a CDN.

Each chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`; every
bar or point carries its own `<title>` (label and value) for a pointer or a screen reader's
exploration mode; the page shows the same figures in a table next to it. Colours come from
classes (`.series-1`, `.series-2`, `.target`) that dashboard.css sets for the normal and the
high-contrast theme; the presentation attributes are the fallback when no style sheet applies.
Series are also told apart without colour: the second is hatched (bars) or dashed (lines).

Text is sized to be read from two metres: the dashboard shows two charts a row, about 560 CSS px
wide on a 1280-px screen, where FONT viewBox units come out at about 18 px. The margins follow
from the text (estimated widths): labels under the axis are wrapped, set on two alternating rows
or thinned out, so that no text touches another or the chart's edge.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
FONT = 23
PLOT_HEIGHT = 190
RIGHT, PAD = 16, 4
LINE = 1.25 * FONT  # from one line of text to the next
GAP = 0.6 * FONT  # the least room between two labels
ASCENT, DESCENT = 0.93, 0.24  # of DejaVu Sans, in em (other sans fonts are close)
MID = (ASCENT - DESCENT) / 2  # baseline below a line of text's middle, in em
FILLS = ("#0b57a4", "#b34700")
_NARROW = frozenset("fijlrtI.,:;'!|()[]- ")
_WIDE = frozenset("mwMW%@")
_ids = itertools.count(1)
_Label = tuple[float, int, list[str]]  # a label under the axis: centre, row, lines


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits in the viewBox, and how values and label indexes map onto it."""

    width: float
    height: float
    left: float
    top: float
    plot_h: float
    slot: float
    ticks: list[float]

    @property
    def right(self) -> float:
        return self.width - RIGHT

    @property
    def bottom(self) -> float:
        return self.top + self.plot_h

    def x_of(self, i: int) -> float:
        return self.left + self.slot * (i + 0.5)

    def y_of(self, value: float) -> float:
        return self.top + self.plot_h * (1 - value / (self.ticks[-1] or 1.0))


def nice_ticks(top: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to at least `top`; with `whole`
    (the values are counts) only whole steps: 1, 2, 5, 10, 20, 25, ..."""
    if not top > 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = max(top / count, 1) if whole else top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(
        m * power
        for m in (1, 2, 2.5, 5, 10)
        if m * power >= raw and not (whole and m * power != round(m * power))
    )
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _text_width(text: str) -> float:
    """The text's width in viewBox units, estimated on the wide side (as if bold: the
    high-contrast theme makes it so)."""
    em = 0.0
    for c in text:
        if c in _NARROW:
            em += 0.5
        elif c in _WIDE:
            em += 1.1
        elif c.isdigit():
            em += 0.72
        elif c.isupper():
            em += 0.86
        elif c.isalpha():
            em += 0.72
        else:
            em += 1.0
    return em * FONT


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _wrap(label: str, room: float) -> list[str] | None:
    """The label's words in at most two lines each no wider than `room`, or None."""
    lines: list[str] = []
    for word in label.split():
        if lines and _text_width(f"{lines[-1]} {word}") <= room:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    if len(lines) > 2 or any(_text_width(line) > room for line in lines):
        return None
    return lines or [""]


def _x_labels(labels: Sequence[str], left: float, slot: float, width: float) -> list[_Label]:
    """The labels to write under the axis, as (centre, row, lines), each in at most two lines and
    touching neither a neighbour nor the chart's edges: all of them in one row, else all of them
    alternating between two rows, else every k-th one (k as small as can be) in one row."""
    n = len(labels)
    for every, rows in [(1, 1), (1, 2), *((k, 1) for k in range(2, n + 1))]:
        room = slot * every * rows - GAP
        shown: list[tuple[float, float, list[str]]] = []
        for i in range(0, n, every):
            lines = _wrap(labels[i], room)
            if lines is None:
                break
            half = max(_text_width(line) for line in lines) / 2
            x = min(max(left + slot * (i + 0.5), PAD + half), width - PAD - half)
            shown.append((x, half, lines))
        else:
            pairs = zip(shown, shown[rows:], strict=False)
            if all(b[0] - b[1] - a[0] - a[1] >= GAP for a, b in pairs):
                return [(x, k % rows, lines) for k, (x, _, lines) in enumerate(shown)]
    return []


def _legend_rows(series: Sequence[Series], left: float, width: float) -> list[list[float]]:
    """Each legend entry's x, row by row, wrapping before the chart's right edge."""
    if len(series) < 2:
        return []
    rows: list[list[float]] = [[]]
    x = left
    for s in series:
        entry = 1.6 * FONT + _text_width(s.name)
        if rows[-1] and x + entry > width - RIGHT:
            rows.append([])
            x = left
        rows[-1].append(x)
        x += entry + FONT
    return rows


def _start(title: str, desc: str, frame: _Frame) -> tuple[list[str], str]:
    uid = f"chart{next(_ids)}"
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" '
        f'font-size="{FONT}" aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
        f'<defs><pattern id="{uid}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="series-2" '
        f'fill="{FILLS[1]}"/><line x1="0" y1="0" x2="0" y2="6" class="hatch" stroke="#fff" '
        'stroke-width="2"/></pattern></defs>',
    ]
    return parts, uid


def _layout(
    labels: Sequence[str],
    series: Sequence[Series],
    unit: str,
    target: float | None,
    width: int,
) -> tuple[_Frame, list[_Label], list[list[float]]]:
    """The frame, the labels under the axis and the legend's rows, with room for all the text."""
    values = [v for s in series for v in s.values if v is not None]
    whole = all(float(v).is_integer() for v in values)  # counts: no tick between 0 and 1
    ticks = nice_ticks(max([*values, target or 0.0, 0.0]), whole=whole)
    left = PAD + max(_text_width(t) for t in [*map(_number, ticks), unit]) + 0.5 * FONT
    slot = (width - left - RIGHT) / max(1, len(labels))
    under = _x_labels(labels, left, slot, width)
    legend = _legend_rows(series, left, width)
    # above the plot: the legend, then the unit and the target's label (or half the top tick's)
    top = PAD + len(legend) * LINE + (2 if unit or target is not None else 0.7) * FONT
    rows, lines = _lines_under(under)
    bottom = (0.65 + ASCENT + DESCENT) * FONT + (rows * lines - 1) * LINE + PAD
    frame = _Frame(width, top + PLOT_HEIGHT + bottom, left, top, PLOT_HEIGHT, slot, ticks)
    return frame, under, legend


def _lines_under(under: list[_Label]) -> tuple[int, int]:
    """The rows of labels under the axis, and the lines of text each row takes."""
    rows = 1 + max((row for _, row, _ in under), default=0)
    return rows, max((len(lines) for _, _, lines in under), default=1)


def _axes(parts: list[str], frame: _Frame, unit: str, under: list[_Label]) -> None:
    label_x = frame.left - 0.4 * FONT
    parts.append('<g class="axis" aria-hidden="true">')
    for tick in frame.ticks:
        y = frame.y_of(tick)
        parts.append(
            f'<line class="grid" x1="{frame.left:.1f}" x2="{frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#767676" stroke-width="1"/>'
            f'<text x="{label_x:.1f}" y="{y + MID * FONT:.1f}" text-anchor="end" fill="#111">'
            f"{_number(tick)}</text>"
        )
    if unit:
        parts.append(
            f'<text x="{label_x:.1f}" y="{frame.top - FONT:.1f}" text-anchor="end" '
            f'fill="#111">{escape(unit)}</text>'
        )
    # clear of the 0's label, which a wide first label may reach to the left
    first = frame.bottom + (0.65 + ASCENT) * FONT
    _, row_lines = _lines_under(under)
    for x, row, lines in under:
        baseline = first + row * row_lines * LINE
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{LINE if n else 0:.1f}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        text = spans if len(lines) > 1 else escape(lines[0])
        parts.append(
            f'<text x="{x:.1f}" y="{baseline:.1f}" text-anchor="middle" fill="#111">{text}</text>'
        )
    y0 = frame.y_of(0)
    parts.append(
        f'<line x1="{frame.left:.1f}" x2="{frame.right}" y1="{y0:.1f}" y2="{y0:.1f}" '
        'stroke="#111" stroke-width="2"/></g>'
    )


def _legend(
    parts: list[str], series: Sequence[Series], rows: list[list[float]], uid: str, lines: bool
) -> None:
    if not rows:
        return
    parts.append('<g class="legend" aria-hidden="true">')
    placed = [(x, PAD + r * LINE + ASCENT * FONT) for r, row in enumerate(rows) for x in row]
    box = 0.9 * FONT
    for n, (s, (x, baseline)) in enumerate(zip(series, placed, strict=True)):
        middle = baseline - MID * FONT
        if lines:
            dash = ' stroke-dasharray="8 5"' if n else ""
            parts.append(
                f'<line x1="{x:.1f}" x2="{x + 1.3 * FONT:.1f}" y1="{middle:.1f}" y2="{middle:.1f}" '
                f'class="series-{n + 1}" stroke="{FILLS[n % 2]}" stroke-width="4"{dash}/>'
            )
        else:
            fill = f"url(#{uid}-hatch)" if n else FILLS[0]
            parts.append(
                f'<rect x="{x:.1f}" y="{middle - box / 2:.1f}" width="{box:.1f}" '
                f'height="{box:.1f}" class="series-{n + 1}" fill="{fill}" stroke="#111"/>'
            )
        parts.append(
            f'<text x="{x + 1.6 * FONT:.1f}" y="{baseline:.1f}" fill="#111">{escape(s.name)}</text>'
        )
    parts.append("</g>")


def _target(parts: list[str], target: float | None, label: str, frame: _Frame) -> None:
    if target is None:
        return
    y = frame.y_of(target)
    parts.append(
        f'<g class="target"><line x1="{frame.left:.1f}" x2="{frame.right}" y1="{y:.1f}" '
        f'y2="{y:.1f}" stroke="#a4161a" stroke-width="3" stroke-dasharray="2 4"/>'
        f'<text x="{frame.right}" y="{y - 0.3 * FONT:.1f}" text-anchor="end" fill="#a4161a">'
        f"{escape(label)}</text></g>"
    )


def bar_chart(
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    target: float | None = None,
    target_label: str = "",
    value_text: Callable[[float], str] = _number,
    width: int = WIDTH,
) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    frame, under, legend = _layout(labels, series, unit, target, width)
    parts, uid = _start(title, desc, frame)
    slot = frame.slot
    bar = slot * 0.8 / max(1, len(series))
    _axes(parts, frame, unit, under)
    parts.append('<g class="bars">')
    for n, s in enumerate(series):
        fill = f"url(#{uid}-hatch)" if n else FILLS[0]
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = frame.left + slot * i + slot * 0.1 + bar * n
            y = frame.y_of(value)
            name = f"{s.name}: " if len(series) > 1 else ""
            parts.append(
                f'<rect class="series-{n + 1}" x="{x:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{max(frame.y_of(0) - y, 0):.1f}" fill="{fill}" stroke="#111" '
                f'stroke-width="1"><title>{escape(labels[i])} · {escape(name)}'
                f"{escape(value_text(value))}</title></rect>"
            )
    parts.append("</g>")
    _target(parts, target, target_label, frame)
    _legend(parts, series, legend, uid, lines=False)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    target: float | None = None,
    target_label: str = "",
    value_text: Callable[[float], str] = _number,
    width: int = WIDTH,
) -> Markup:
    """One line per series over the labels; gaps where a value is None."""
    frame, under, legend = _layout(labels, series, unit, target, width)
    parts, uid = _start(title, desc, frame)
    x_of, y_of = frame.x_of, frame.y_of
    _axes(parts, frame, unit, under)
    _target(parts, target, target_label, frame)
    for n, s in enumerate(series):
        dash = ' stroke-dasharray="8 5"' if n else ""
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x_of(i):.1f},{y_of(value):.1f}")
        parts.append(f'<g class="line series-{n + 1}">')
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{FILLS[n % 2]}" '
                    f'stroke-width="3"{dash}/>'
                )
        for i, value in enumerate(s.values):
            if value is not None:
                name = f"{s.name}: " if len(series) > 1 else ""
                parts.append(
                    f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="5" '
                    f'fill="{FILLS[n % 2]}" stroke="#fff" stroke-width="1.5">'
                    f"<title>{escape(labels[i])} · {escape(name)}{escape(value_text(value))}</title>"
                    "</circle>"
                )
        parts.append("</g>")
    _legend(parts, series, legend, uid, lines=True)
    parts.append("</svg>")
    return Markup("".join(parts))
