"""`office360 demo` starts a working office (hub only here: no screen for the windows)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.hubtools import ROOT, free_port


def test_demo_serves_the_hub_and_prints_where_to_go(tmp_path: Path) -> None:
    port = free_port()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "office360",
            "demo",
            "--no-display",
            "--no-kiosk",
            "--seconds",
            "2",
            "--port",
            str(port),
            "--folder",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"http://127.0.0.1:{port}/healthz" in run.stdout
    token = (tmp_path / "demo" / "admin.token").read_text().strip()
    assert token.startswith("o360_")
    assert (tmp_path / "demo" / "data" / "office360.db").exists()
    # the seeded tickets are in the database the demo left behind
    import sqlite3

    with sqlite3.connect(tmp_path / "demo" / "data" / "office360.db") as db:
        count = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
    assert count == 6
