"""A subcommand imports only its own role: `config check` does not load the hub or the printer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_config_check_imports_no_other_role() -> None:
    script = (
        "import sys\n"
        "from office360.cli import main\n"
        f"assert main(['config', 'check', {str(ROOT / 'config' / 'office360.example.toml')!r}]) == 0\n"
        "print(sorted(m for m in ('hub.cli', 'printer.cli', 'kiosk.cli', 'display.cli')"
        " if m in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"
