"""Colours and type for the board. Both themes keep text far above WCAG AAA contrast (7:1)."""

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
    """Also the window's clear colour: nothing else fills large areas (cheap on software GL)."""
    text: Rgba
    dim: Rgba
    accent: Rgba
    """The current number; while it blinks, the number and the desk swap text and accent."""
    alert: Rgba
    alert_text: Rgba
    outline: Rgba
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
            alert=_hex("FFFF00"),
            alert_text=_hex("000000"),
            outline=_hex("FFFFFF"),
            font_regular=bold,
            font_bold=bold,
        )
    return Theme(
        name="dark",
        background=_hex("0A1A33"),
        text=_hex("FFFFFF"),
        dim=_hex("C9D6EA"),
        accent=_hex("FFD21F"),
        alert=_hex("FF8A00"),
        alert_text=_hex("000000"),
        outline=_hex("3A64A8"),
        font_regular=regular,
        font_bold=bold,
    )
