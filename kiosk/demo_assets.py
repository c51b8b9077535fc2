"""A folder of camera images for the demo kiosk (`office360 kiosk --source FOLDER`).

The kiosk plays an image folder at 5 frames a second, in name order, looping. Most frames show
nobody in front of the camera, so the walk-in buttons can be tried; now and then a code is held
up: first any genuine codes given (e.g. of appointments the demo booked), then a forged
appointment code (signed with a key the hub does not know) and a QR code that is not an
appointment at all.

    python -m kiosk.demo_assets FOLDER [--code TEXT ...]
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from office360 import qrtoken

from .scanner.fake import qr_matrix

SIZE = (640, 480)
PREFIX = "demo-"
IDLE_FRAMES = 40
"""Eight seconds of nobody between two codes at the folder source's 5 frames a second."""


def idle_frame(size: tuple[int, int] = SIZE) -> np.ndarray:
    width, height = size
    frame = np.full((height, width, 3), 70, dtype=np.uint8)
    cv2.putText(
        frame,
        "office360 demo camera",
        (24, height - 24),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.8,
        (200, 200, 200),
        2,
    )
    return frame


def code_frame(text: str, size: tuple[int, int] = SIZE, module_px: int = 6) -> np.ndarray:
    """A code on white paper held in the middle of the picture."""
    frame = idle_frame(size)
    modules = qr_matrix(text)
    while modules.shape[0] * module_px > min(size) - 40 and module_px > 2:
        module_px -= 1
    paper = np.kron(np.where(modules, 0, 255).astype(np.uint8), np.ones((module_px, module_px)))
    side = paper.shape[0]
    top, left = (size[1] - side) // 2, (size[0] - side) // 2
    frame[top : top + side, left : left + side] = paper.astype(np.uint8)[:, :, None]
    return frame


def forged_code(office: str = "centro", service: str = "general") -> str:
    """A well-formed appointment code for today, signed with a key nobody has: the kiosk says
    it cannot validate it."""
    now = datetime.now(UTC).replace(microsecond=0)
    claims = qrtoken.Claims(
        appointment_id=secrets.randbelow(10**6) + 1,
        office=office,
        service=service,
        slot_start=now + timedelta(minutes=10),
        expires_at=now + timedelta(days=1),
    )
    key = qrtoken.generate_signing_key("forged")
    return qrtoken.sign(claims, key.private_key, key.kid)


def write_demo_folder(folder: str | Path, codes: Sequence[str] = ()) -> Path:
    """(Re)write the demo images into `folder`; `codes` are genuine codes to include."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{PREFIX}*.png"):
        old.unlink()
    # genuine codes first: the kiosk checks one in within seconds of starting
    shown = [
        *((code, "appointment") for code in codes),
        (forged_code(), "forged"),
        ("https://example.org/not-an-appointment", "foreign"),
    ]
    idle = idle_frame()
    index = 0

    def write(frame: np.ndarray, what: str) -> None:
        nonlocal index
        cv2.imwrite(str(folder / f"{PREFIX}{index:04d}-{what}.png"), frame)
        index += 1

    for text, label in shown:
        for _ in range(IDLE_FRAMES):
            write(idle, "nobody")
        for _ in range(3):  # held up for a little while, as a hand does
            write(code_frame(text), label)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.demo_assets")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--code", action="append", default=[], help="a genuine code to include")
    args = parser.parse_args(argv)
    folder = write_demo_folder(args.folder, args.code)
    print(f"{len(list(folder.glob(PREFIX + '*.png')))} images in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
