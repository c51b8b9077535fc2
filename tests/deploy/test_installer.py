"""systemd/install.sh run for real into a throw-away root (--root) and as a dry run.

Nothing on this machine is touched: under --root the installer only prints the commands that
act on the running system (apt-get, useradd, systemctl start, udevadm), and the test checks
them. pip installs a small offline wheel (fake_wheel.py) instead of office360 with its
dependencies, which would need the network and minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from office360.config import load_settings

from .fake_wheel import build_fake_wheel

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "systemd" / "install.sh"
CMDLINE = "console=serial0,115200 root=PARTUUID=1234-02 rootwait"


# Stands in for python3 where only the installer's own steps are under test: `-m venv DIR`
# makes DIR/bin/python (this script again); `-m pip ...` records its arguments in bin/calls and
# leaves a bin/office360 that records its own arguments in $FAKE_LOG.
FAKE_PYTHON = """#!/bin/sh
bin=$(dirname "$0")
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
echo "$*" >>"$bin/calls"
printf '#!/bin/sh\\n[ -z "$FAKE_LOG" ] || echo "$*" >>"$FAKE_LOG"\\n' >"$bin/office360"
chmod +x "$bin/office360"
"""


def fake_python(folder: Path) -> Path:
    python = folder / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return python


def run_installer(
    *args: str | Path, log: Path | None = None, python: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    if log is not None:
        env["FAKE_LOG"] = str(log)
    if python is not None:
        env["PYTHON"] = str(python)
    return subprocess.run(
        ["bash", str(INSTALLER), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def changes(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("change:")]


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under root with what a change would alter."""
    state: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path))
        else:
            st = path.lstat()
            state[rel] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return state


def test_dry_run_prints_every_action_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    result = run_installer("kiosk", "--dry-run", "--root", root)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "change: virtual environment /opt/office360/venv",
        "change: /etc/office360/office360.toml from config/office360.example.toml",
        "change: /etc/systemd/system/office360-kiosk.service (new)",
        "change: /etc/udev/rules.d/60-office360-printers.rules (new)",
        "change: login prompt on tty1 masked",
        "change: office360-kiosk.service enabled at boot",
        "skip (--root): apt-get install",
        "skip (--root): useradd --system",
        "libzbar0",
        "(dry run: nothing was changed)",
    ):
        assert expected in out, expected
    # each change is followed by the command that makes it
    assert f"+ python3 -m venv {root}/opt/office360/venv" in out
    assert f"-m pip install --quiet --disable-pip-version-check --upgrade {REPO}\\[kiosk\\]" in out
    assert list(root.iterdir()) == []


def test_bad_arguments_get_a_clear_message(tmp_path: Path) -> None:
    no_role = run_installer("--dry-run")
    assert no_role.returncode == 2
    assert "say which role: hub, kiosk or display" in no_role.stderr
    unknown = run_installer("kiosk", "--frobnicate")
    assert unknown.returncode == 2
    assert "unknown argument: --frobnicate" in unknown.stderr
    two = run_installer("kiosk", "hub", "--dry-run")
    assert two.returncode == 2
    assert "give one role" in two.stderr
    missing_root = run_installer("hub", "--root", tmp_path / "nowhere")
    assert missing_root.returncode == 2
    assert "is not a directory" in missing_root.stderr


@pytest.mark.parametrize("role", ["kiosk", "display"])
def test_device_config_browses_for_the_hub_and_keeps_its_token_private(
    role: str, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    result = run_installer(role, "--root", root, python=fake_python(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    settings = load_settings(root / "etc/office360/office360.toml", env={})
    assert settings.device.hub_url == ""  # empty: find the hub by mDNS
    assert str(settings.device.token_file) == "/var/lib/office360/device.token"
    assert (root / f"etc/systemd/system/office360-{role}.service").exists()
    assert os.readlink(root / "etc/systemd/system/getty@tty1.service") == "/dev/null"
    printers_rule = root / "etc/udev/rules.d/60-office360-printers.rules"
    assert printers_rule.exists() == (role == "kiosk")
    pip = (root / "opt/office360/venv/bin/calls").read_text()
    assert f"-m pip install --quiet --disable-pip-version-check --upgrade {REPO}[{role}]" in pip
    assert "note: no /boot/firmware/cmdline.txt" in result.stdout


def test_install_rerun_upgrade_second_role_and_uninstall(tmp_path: Path) -> None:
    python = fake_python(tmp_path)
    root = tmp_path / "root"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text(CMDLINE + "\n")
    log = tmp_path / "office360-calls.log"
    v1 = tmp_path / "office360-0.1-py3-none-any.whl"
    v1.write_bytes(b"release 0.1")
    v2 = tmp_path / "office360-0.2-py3-none-any.whl"
    v2.write_bytes(b"release 0.2")
    etc = root / "etc/systemd/system"

    # 1. a fresh hub
    first = run_installer("hub", "--root", root, "--package", v1, log=log, python=python)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (etc / "office360-hub.service").read_bytes() == (
        REPO / "systemd/office360-hub.service"
    ).read_bytes()
    assert os.readlink(etc / "multi-user.target.wants/office360-hub.service") == (
        "/etc/systemd/system/office360-hub.service"
    )
    assert (root / "opt/office360/venv/bin/office360").exists()
    config = root / "etc/office360/office360.toml"
    assert load_settings(config, env={}).hub.host == "0.0.0.0"
    assert oct(config.stat().st_mode & 0o777) == "0o640"
    assert oct((root / "var/lib/office360").stat().st_mode & 0o777) == "0o750"
    migrate = f"hub migrate --config {config}"
    assert log.read_text().splitlines() == [migrate]
    pip = root / "opt/office360/venv/bin/calls"
    assert pip.read_text() == (
        f"-m pip install --quiet --disable-pip-version-check --upgrade {v1}\n"
    )
    assert "skip (--root): systemctl restart office360-hub.service" in first.stdout

    # 2. the same again changes nothing
    before = snapshot(root)
    again = run_installer("hub", "--root", root, "--package", v1, log=log, python=python)
    assert again.returncode == 0, again.stderr
    assert changes(again.stdout) == []
    assert "office360 hub installed: 0 change(s)" in again.stdout
    assert "pip install" not in again.stdout
    assert snapshot(root) == before
    assert len(log.read_text().splitlines()) == 1

    # 3. upgrade in place: config and data kept, migrations run
    config.write_text(config.read_text() + "# edited by the technician\n")
    data = root / "var/lib/office360/office360.db"
    data.write_bytes(b"tickets")
    upgrade = run_installer("hub", "--root", root, "--package", v2, log=log, python=python)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"change: office360 package upgraded from {v2}" in upgrade.stdout
    assert "skip (--root): systemctl stop office360-hub.service" in upgrade.stdout
    assert config.read_text().endswith("# edited by the technician\n")
    assert data.read_bytes() == b"tickets"
    assert log.read_text().splitlines() == [migrate, migrate]
    assert pip.read_text().splitlines()[-2:] == [
        f"-m pip install --quiet --disable-pip-version-check --upgrade {v2}",
        f"-m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall {v2}",
    ]

    # 4. a kiosk on the same machine: shares venv and config, owns the screen
    kiosk = run_installer("kiosk", "--root", root, "--package", v2, log=log, python=python)
    assert kiosk.returncode == 0, kiosk.stderr
    assert "ok: /etc/office360/office360.toml kept as it is" in kiosk.stdout
    assert f"change: office360 package installed from {v2}" in kiosk.stdout
    assert log.read_text().splitlines() == [migrate, migrate]  # a kiosk migrates nothing
    assert (root / "etc/udev/rules.d/60-office360-printers.rules").exists()
    assert os.readlink(etc / "getty@tty1.service") == "/dev/null"
    cmdline = (root / "boot/firmware/cmdline.txt").read_text()
    assert cmdline == CMDLINE + " consoleblank=0 vt.global_cursor_default=0\n"
    assert (
        changes(run_installer("kiosk", "--root", root, "--package", v2, python=python).stdout) == []
    )
    assert (root / "boot/firmware/cmdline.txt").read_text() == cmdline
    # and the hub beside it sees nothing to do either
    hub_again = run_installer("hub", "--root", root, "--package", v2, log=log, python=python)
    assert changes(hub_again.stdout) == []

    # 5. uninstall the kiosk: the hub keeps the venv; the console is given back
    gone = run_installer("kiosk", "--root", root, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert not (etc / "office360-kiosk.service").exists()
    assert not (etc / "multi-user.target.wants/office360-kiosk.service").exists()
    assert not (root / "etc/udev/rules.d/60-office360-printers.rules").exists()
    assert not (etc / "getty@tty1.service").is_symlink()
    assert (root / "boot/firmware/cmdline.txt").read_text() == CMDLINE + "\n"
    assert "ok: /opt/office360 kept: another office360 role is installed here" in gone.stdout

    # 6. uninstall the hub: everything but configuration and data goes
    last = run_installer("hub", "--root", root, "--uninstall")
    assert last.returncode == 0, last.stderr
    assert not (root / "opt/office360").exists()
    assert not (etc / "office360-hub.service").exists()
    assert not list(etc.rglob("office360-*"))
    assert config.read_text().endswith("# edited by the technician\n")
    assert data.read_bytes() == b"tickets"
    assert "kept: /etc/office360 (configuration), /var/lib/office360 (data)" in last.stdout
    assert changes(run_installer("hub", "--root", root, "--uninstall").stdout) == []


@pytest.mark.slow
def test_real_virtual_environment_and_pip_upgrade(tmp_path: Path) -> None:
    """python3 -m venv and pip for real (offline, a tiny wheel): install, then upgrade to a
    rebuild that kept its version number, which pip alone would skip."""
    root = tmp_path / "root"
    root.mkdir()
    log = tmp_path / "office360-calls.log"
    (tmp_path / "first").mkdir()
    (tmp_path / "rebuilt").mkdir()
    first_build = build_fake_wheel(tmp_path / "first", "0.1", marker="first")
    rebuilt = build_fake_wheel(tmp_path / "rebuilt", "0.1", marker="rebuilt")
    first = run_installer("hub", "--root", root, "--package", first_build, log=log)
    assert first.returncode == 0, first.stdout + first.stderr
    site = next((root / "opt/office360/venv/lib").glob("python3*/site-packages"))
    assert (site / "office360_fake-0.1.dist-info").is_dir()
    assert "MARKER = 'first'" in (site / "office360_fake.py").read_text()
    upgrade = run_installer("hub", "--root", root, "--package", rebuilt, log=log)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert "MARKER = 'rebuilt'" in (site / "office360_fake.py").read_text()
    config = root / "etc/office360/office360.toml"
    migrate = ["hub", "migrate", "--config", str(config)]
    assert [json.loads(line) for line in log.read_text().splitlines()] == [migrate, migrate]
