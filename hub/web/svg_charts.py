"""Bar and line charts drawn by the hub as inline SVG: no script, nothing from a CDN.

Each chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`; every
bar or point carries its own `<title>` (label and value) for a pointer or a screen reader's
exploration mode; the page shows the same figures in a table next to it. Colours come from
classes (`.series-1`, `.series-2`, `.target`) that dashboard.css sets for the normal and the
high-contrast theme; the presentation attributes are the fallback when no style sheet applies.
Series are also told apart without colour: the second is hatched (bars) or dashed (lines).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 56
FILLS = ("#0b57a4", "#b34700")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to at least `top`."""
    if not top > 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _start(title: str, desc: str, width: int, height: int) -> tuple[list[str], str]:
    uid = f"chart{next(_ids)}"
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
        f'<defs><pattern id="{uid}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="series-2" '
        f'fill="{FILLS[1]}"/><line x1="0" y1="0" x2="0" y2="6" class="hatch" stroke="#fff" '
        'stroke-width="2"/></pattern></defs>',
    ]
    return parts, uid


def _axes(
    parts: list[str],
    labels: Sequence[str],
    ticks: list[float],
    unit: str,
    width: int,
    height: int,
    x_of: Callable[[int], float],
) -> Callable[[float], float]:
    plot_h = height - TOP - BOTTOM
    top = ticks[-1] or 1.0

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts.append('<g class="axis" aria-hidden="true">')
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#767676" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{y + 5:.1f}" text-anchor="end" fill="#111">'
            f"{_number(tick)}</text>"
        )
    if unit:
        parts.append(
            f'<text x="{LEFT - 8}" y="{TOP - 14}" text-anchor="end" fill="#111">{escape(unit)}</text>'
        )
    every = max(1, math.ceil(len(labels) / 14))  # at most ~14 labels under the axis
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{height - BOTTOM + 22}" text-anchor="middle" '
                f'fill="#111">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y_of(0):.1f}" y2="{y_of(0):.1f}" '
        'stroke="#111" stroke-width="2"/></g>'
    )
    return y_of


def _legend(parts: list[str], series: Sequence[Series], uid: str, lines: bool) -> None:
    if len(series) < 2:
        return
    x = LEFT
    parts.append('<g class="legend" aria-hidden="true">')
    for n, s in enumerate(series):
        if lines:
            dash = ' stroke-dasharray="8 5"' if n else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 28}" y1="12" y2="12" class="series-{n + 1}" '
                f'stroke="{FILLS[n % 2]}" stroke-width="4"{dash}/>'
            )
        else:
            fill = f"url(#{uid}-hatch)" if n else FILLS[0]
            parts.append(
                f'<rect x="{x}" y="2" width="20" height="20" class="series-{n + 1}" fill="{fill}" '
                'stroke="#111"/>'
            )
        parts.append(f'<text x="{x + 34}" y="18" fill="#111">{escape(s.name)}</text>')
        x += 48 + 10 * len(s.name)
    parts.append("</g>")


def _target(
    parts: list[str], target: float | None, label: str, y_of: Callable[[float], float], width: int
) -> None:
    if target is None:
        return
    y = y_of(target)
    parts.append(
        f'<g class="target"><line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
        'stroke="#a4161a" stroke-width="3" stroke-dasharray="2 4"/>'
        f'<text x="{width - RIGHT}" y="{y - 6:.1f}" text-anchor="end" fill="#a4161a">'
        f"{escape(label)}</text></g>"
    )


def _top(series: Sequence[Series], target: float | None) -> float:
    values = [v for s in series for v in s.values if v is not None]
    return max([*values, target or 0.0, 0.0])


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
    height: int = HEIGHT,
) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    parts, uid = _start(title, desc, width, height)
    ticks = nice_ticks(_top(series, target))
    slot = (width - LEFT - RIGHT) / max(1, len(labels))
    bar = slot * 0.8 / max(1, len(series))

    def x_of(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    y_of = _axes(parts, labels, ticks, unit, width, height, x_of)
    parts.append('<g class="bars">')
    for n, s in enumerate(series):
        fill = f"url(#{uid}-hatch)" if n else FILLS[0]
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = LEFT + slot * i + slot * 0.1 + bar * n
            y = y_of(value)
            name = f"{s.name}: " if len(series) > 1 else ""
            parts.append(
                f'<rect class="series-{n + 1}" x="{x:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{max(y_of(0) - y, 0):.1f}" fill="{fill}" stroke="#111" stroke-width="1">'
                f"<title>{escape(labels[i])} · {escape(name)}{escape(value_text(value))}</title></rect>"
            )
    parts.append("</g>")
    _target(parts, target, target_label, y_of, width)
    _legend(parts, series, uid, lines=False)
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
    height: int = HEIGHT,
) -> Markup:
    """One line per series over the labels; gaps where a value is None."""
    parts, uid = _start(title, desc, width, height)
    ticks = nice_ticks(_top(series, target))
    span = (width - LEFT - RIGHT) / max(1, len(labels))

    def x_of(i: int) -> float:
        return LEFT + span * (i + 0.5)

    y_of = _axes(parts, labels, ticks, unit, width, height, x_of)
    _target(parts, target, target_label, y_of, width)
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
    _legend(parts, series, uid, lines=True)
    parts.append("</svg>")
    return Markup("".join(parts))
