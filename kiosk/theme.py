"""Colours, type and reach. Both themes keep text above WCAG AAA contrast (7:1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

Rgba = tuple[float, float, float, float]

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)


def _hex(value: str) -> Rgba:
    value = value.lstrip("#")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255, 1.0)


@dataclass(frozen=True)
class Theme:
    name: str
    background: Rgba
    text: Rgba
    dim: Rgba
    accent: Rgba
    primary: Rgba
    """Background of the main buttons; primary_text is written on it."""
    primary_text: Rgba
    secondary: Rgba
    secondary_text: Rgba
    outline: Rgba
    alert: Rgba
    font_regular: str
    font_bold: str


def _font(name: str, fallback: str) -> str:
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return fallback


def theme_named(name: str) -> Theme:
    bold = _font("DejaVuSans-Bold.ttf", "Roboto")
    regular = _font("DejaVuSans.ttf", "Roboto")
    if name == "high_contrast":
        return Theme(
            name=name,
            background=_hex("000000"),
            text=_hex("FFFFFF"),
            dim=_hex("FFFFFF"),
            accent=_hex("FFFF00"),
            primary=_hex("FFFF00"),
            primary_text=_hex("000000"),
            secondary=_hex("000000"),
            secondary_text=_hex("FFFFFF"),
            outline=_hex("FFFFFF"),
            alert=_hex("FFFF00"),
            font_regular=bold,
            font_bold=bold,
        )
    return Theme(
        name="standard",
        background=_hex("0B2545"),
        text=_hex("FFFFFF"),
        dim=_hex("D6E2F3"),
        accent=_hex("FFD21F"),
        primary=_hex("FFD21F"),
        primary_text=_hex("0B2545"),
        secondary=_hex("1F4E8C"),
        secondary_text=_hex("FFFFFF"),
        outline=_hex("1F4E8C"),
        alert=_hex("FFB199"),
        font_regular=regular,
        font_bold=bold,
    )


@dataclass(frozen=True)
class Metrics:
    """Sizes in pixels for a window, so type is large on any screen from 800x480 to 1080p."""

    unit: float
    """Body text size; titles and buttons are multiples of it."""
    pad: float
    controls_share: float
    """The share of the height below the information area where every control sits."""
    landscape: bool


def metrics_for(width: int, height: int, *, text_scale: float = 1.0, low_reach: bool) -> Metrics:
    short = min(width, height)
    unit = max(18.0, short / 20.0) * text_scale
    # Low reach: controls only in the lower half (a wheelchair user reaches about 1.2 m up).
    share = 0.5 if low_reach else 0.62
    return Metrics(unit=unit, pad=short / 40.0, controls_share=share, landscape=width >= height)
