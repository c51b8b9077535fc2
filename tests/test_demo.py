"""`office360 demo` starts a working office (hub only here: no screen for the windows)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from office360.demo import EXAMPLE, demo_environment, has_screen, prepare_database
from tests.hubtools import ROOT, free_port


def demo_command(port: int, folder: Path, seconds: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "office360",
        "demo",
        "--no-display",
        "--no-kiosk",
        "--seconds",
        str(seconds),
        "--port",
        str(port),
        "--folder",
        str(folder),
    ]


def sign_in(url: str, login: str, password: str) -> requests.Session:
    """As a browser does: the sign-in form's CSRF token, then the form."""
    s = requests.Session()
    page = s.get(f"{url}/signin", timeout=5).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = s.post(
        f"{url}/signin",
        data={"login": login, "password": password, "csrf": csrf},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303, r.text[:500]
    return s


def test_demo_serves_the_hub_and_prints_where_to_go(tmp_path: Path) -> None:
    port, folder = free_port(), tmp_path / "demo"
    url = f"http://127.0.0.1:{port}"
    demo = subprocess.Popen(
        demo_command(port, folder, 120),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        out = []
        assert demo.stdout is not None
        for line in demo.stdout:  # up to the end of the URL block
            out.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        printed = "".join(out)
        assert f"{url}/healthz" in printed and f"{url}/desk" in printed, printed
        # /docs is disabled (its page loads scripts from a CDN): the schema is pointed at instead
        assert "/docs" not in printed and f"{url}/openapi.json" in printed
        assert requests.get(f"{url}/openapi.json", timeout=5).ok
        # the printed credentials sign in to the desk panel and the admin pages
        login, password = re.search(r"login (\S+), password (\S+)", printed).groups()  # type: ignore[union-attr]
        staff = sign_in(url, login, password)
        assert staff.get(f"{url}/admin", timeout=5, allow_redirects=False).status_code == 200
        desk = staff.get(f"{url}/desk", timeout=5, allow_redirects=False)
        assert "/signin" not in desk.headers.get("location", "")
        # the booked appointment's code checks in at a kiosk now
        day = re.search(r"appointment booked\s+(\S+) ", printed).group(1)  # type: ignore[union-attr]
        admin = {"Authorization": f"Bearer {(folder / 'admin.token').read_text().strip()}"}
        booked = requests.get(
            f"{url}/api/v1/appointments", params={"day": day}, headers=admin, timeout=5
        ).json()
        kiosk = {"Authorization": f"Bearer {(folder / 'kiosk.token').read_text().strip()}"}
        checked = requests.post(
            f"{url}/api/v1/checkin", json={"code": booked[0]["code"]}, headers=kiosk, timeout=5
        )
        assert checked.status_code == 201, checked.text
    finally:
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, err[-3000:]
    assert (folder / "admin.token").read_text().startswith("o360_")
    with sqlite3.connect(folder / "data" / "office360.db") as db:
        count = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
    assert count == 6 + 1  # the seeded tickets and the check-in's
    with pytest.raises(requests.RequestException):  # the hub stopped with the demo
        requests.get(f"{url}/healthz", timeout=2)


def test_demo_stops_with_a_clear_message_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        run = subprocess.run(
            demo_command(port, tmp_path / "demo", 2),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"office360 demo: port {port} is in use by another program; stop it, or run the demo "
        "on another port: .venv/bin/office360 demo --port N"
    )
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "demo").exists()  # nothing started, nothing written


def test_each_demo_start_gives_the_admin_a_new_password(tmp_path: Path) -> None:
    from hub.cli import _engine
    from hub.sessions import verify_password
    from hub.users_repo import user_by_login

    (tmp_path / "data").mkdir()
    tokens, first = prepare_database(EXAMPLE, tmp_path)
    again, second = prepare_database(EXAMPLE, tmp_path)
    assert first != second and len(second) >= 16
    assert again == tokens  # the devices keep their tokens
    args = type("Args", (), {"config": str(EXAMPLE), "data_dir": tmp_path / "data"})()
    _settings, engine = _engine(args)
    with engine.connect() as conn:
        user = user_by_login(conn, "demo")
    engine.dispose()
    assert user is not None and user.role == "admin"
    assert verify_password(user.password_hash, second)
    assert not verify_password(user.password_hash, first)


@pytest.mark.parametrize(
    ("env", "cards", "expected"),
    [
        ({}, [], False),
        ({"DISPLAY": ":0"}, [], True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, [], True),
        ({"DISPLAY": ""}, [], False),
        ({}, ["card0"], True),  # Raspberry Pi OS Lite with a monitor: Kivy on KMS
        ({}, ["renderD128"], False),  # a render node only: no monitor output
    ],
)
def test_a_screen_is_an_x_or_wayland_session_or_a_drm_card(
    tmp_path: Path, env: dict[str, str], cards: list[str], expected: bool
) -> None:
    for name in cards:
        (tmp_path / name).touch()
    assert has_screen(env, tmp_path) is expected
    session = bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    assert has_screen(env, tmp_path / "missing") is session  # no /dev/dri at all


def test_demo_state_stays_in_the_demo_folder(tmp_path: Path) -> None:
    from office360.config import load_settings

    env = demo_environment(EXAMPLE, tmp_path, 8999)
    settings = load_settings(EXAMPLE, env=env)
    for where in (
        settings.hub.data_dir,
        settings.display.cache_dir,
        settings.kiosk.cache_dir,
        settings.device.state_dir,
    ):
        assert where.is_relative_to(tmp_path), where
    assert settings.printer.url == f"preview://{tmp_path / 'tickets'}"
    if "KIVY_HOME" not in os.environ:  # Kivy's own configuration and logs
        assert Path(env["KIVY_HOME"]).is_relative_to(tmp_path)


def test_the_windows_log_each_line_once_and_no_http_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the kiosk and display start: the configuration (which imports python-escpos, and it
    calls logging.basicConfig()), then Kivy."""
    script = (
        "import logging\n"
        "from office360.config import load_settings\n"
        "load_settings()\n"
        "from kivy.logger import Logger\n"
        "Logger.info('Probe: said once')\n"
        "logging.getLogger('urllib3.connectionpool').debug('http noise')\n"
    )
    monkeypatch.delenv("KIVY_LOG_MODE", raising=False)  # the demo would keep the caller's
    env = {
        **demo_environment(EXAMPLE, tmp_path, 8999),
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_ARGS": "1",
    }
    env.pop("KIVY_NO_CONSOLELOG", None)  # tests/display/conftest.py sets it for the whole run
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    output = run.stdout + run.stderr
    assert output.count("said once") == 1, output
    assert "http noise" not in output


def test_demo_camera_shows_the_genuine_code_first(tmp_path: Path) -> None:
    from kiosk.demo_assets import write_demo_folder
    from kiosk.scanner import decode_frame, read_image

    folder = write_demo_folder(tmp_path / "camera", codes=["O360:GENUINE"])
    for index, image in enumerate(sorted(folder.glob("*.png"))):
        codes = decode_frame(read_image(image))
        if codes:
            assert codes == ["O360:GENUINE"]
            assert index / 5 < 10  # seconds at the folder source's 5 frames a second
            break
    else:
        pytest.fail("no code in the demo camera's images")


def test_demo_refuses_a_configuration_with_a_database_server(tmp_path: Path) -> None:
    """It makes an admin user with a printed password: never in a real installation's database."""
    run = subprocess.run(
        demo_command(free_port(), tmp_path / "demo", 2),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "OFFICE360__HUB__DATABASE_URL": '"postgresql+psycopg://x@db/o"'},
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "names a database server" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "demo").exists()
