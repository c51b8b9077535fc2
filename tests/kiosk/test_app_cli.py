"""`office360 kiosk`: refuses clearly before any window opens when it cannot work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.hubtools import write_config

ROOT = Path(__file__).resolve().parents[2]


def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office360", "kiosk", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('[device]\ntoken = "t"\noffice = "nowhere"\n', "'nowhere' is not configured"),
        ('[device]\ntoken = "t"\n[kiosk]\ncamera = "/no/such/folder"\n', "source_invalid"),
        ("[kiosk]\nidle_timeout_s = 1\n", "kiosk.idle_timeout_s"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, extra: str, needle: str) -> None:
    result = kiosk("--config", str(write_config(tmp_path, 8360, extra)))
    assert result.returncode == 2 and needle in result.stderr, result.stderr


def test_bad_window_size_is_refused() -> None:
    result = kiosk("--size", "big")
    assert result.returncode == 2 and "size must look like 1280x800" in result.stderr
