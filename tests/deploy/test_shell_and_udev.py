"""shellcheck on every shell script of the repository, and the printer udev rule."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache"}
RULES = REPO / "systemd" / "60-office360-printers.rules"


def shell_scripts() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder) / name
            if path.suffix == ".sh":
                found.append(path)
            elif not path.suffix and path.is_file() and not path.is_symlink():
                with path.open("rb") as f:
                    first = f.readline(200)
                if re.match(rb"#!\s*/(usr/)?bin/(env\s+)?(ba|da)?sh\b", first):
                    found.append(path)
    return sorted(found)


def test_the_installer_is_among_the_scripts() -> None:
    assert REPO / "systemd" / "install.sh" in shell_scripts()


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck_is_clean(script: Path) -> None:
    result = subprocess.run(
        ["shellcheck", "--severity=style", str(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- udev ---------------------------------------------------------------------------------

RULE_KEY = re.compile(
    r"^(ACTION|SUBSYSTEM|ENV\{\w+\}|ATTR\{\w+\}|GROUP|MODE|GOTO|IMPORT\{builtin\}|LABEL)"
    r'(==|!=|=)"[^"]*"$'
)
VENDORS = {
    "04b8": "Epson",
    "0519": "Star",
    "1d90": "Citizen",
    "2730": "Citizen",
    "1504": "Bixolon",
    "0dd4": "Custom",
    "0416": "Winbond clone",
    "0fe6": "ICS Advent clone",
    "1a86": "QinHeng clone",
}


def rule_lines() -> list[str]:
    return [
        line.strip()
        for line in RULES.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_udev_rule_syntax() -> None:
    labels = set()
    gotos = set()
    for line in rule_lines():
        for part in (p.strip() for p in line.split(", ")):
            assert RULE_KEY.match(part), f"not a udev key: {part!r} in {line!r}"
            if part.startswith("LABEL="):
                labels.add(part.split('"')[1])
            if part.startswith("GOTO="):
                gotos.add(part.split('"')[1])
    assert gotos == labels == {"office360_printers_end"}


def test_udev_rule_gives_group_lp_only() -> None:
    for line in rule_lines():
        if "GROUP=" in line:
            assert 'GROUP="lp"' in line and 'MODE="0660"' in line, line
        assert "0666" not in line and "OWNER=" not in line, line


def test_udev_rule_covers_the_common_vendors() -> None:
    vendors = set(re.findall(r'ATTR\{idVendor\}=="([0-9a-f]{4})"', RULES.read_text()))
    missing = {vid: name for vid, name in VENDORS.items() if vid not in vendors}
    assert not missing
    # Printer-class interfaces of any maker are matched too
    assert 'ENV{ID_USB_INTERFACES}=="*:0701??:*"' in RULES.read_text()


def test_clone_chip_vendors_are_narrowed_to_a_product() -> None:
    """Winbond, ICS Advent and QinHeng make much else: never grant their whole range."""
    for line in rule_lines():
        for vid in ("0416", "0fe6", "1a86"):
            if f'idVendor}}=="{vid}"' in line:
                assert "idProduct" in line, line
