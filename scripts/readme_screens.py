"""Rewrites the README's screenshot gallery from docs/screenshots/ (run after the tests made them)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- screens:start -->", "<!-- screens:end -->"
GROUPS = [
    ("kiosk", "Kiosk (touch screen at the door)"),
    ("ticket", "Printed ticket (PNG preview of the ESC/POS output)"),
    ("display", "Waiting-room display"),
    ("desk", "Desk panel"),
    ("phone", "Citizen's phone: ticket status"),
    ("take", "Citizen's phone: take a number"),
    ("book", "Booking an appointment"),
    ("signin", "Staff sign-in"),
    ("admin", "Admin pages"),
    ("dashboard", "Results dashboard"),
]


def gallery() -> str:
    shots = sorted((ROOT / "docs" / "screenshots").glob("*.png"))
    lines = []
    for prefix, title in GROUPS:
        mine = [s for s in shots if s.stem.split("-")[0] == prefix]
        if not mine:
            continue
        lines.append(f"**{title}**\n")
        lines.append(
            " ".join(
                f'<img src="docs/screenshots/{s.name}" alt="{s.stem}" width="300">' for s in mine
            )
        )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = f"{START}\n{gallery()}\n{END}"
    text = re.sub(re.escape(START) + r".*?" + re.escape(END), block, text, flags=re.S)
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
