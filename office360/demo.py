"""`office360 demo`: the whole office on one machine, on an embedded SQLite database, with the
preview printer and the demo camera source where no hardware is attached."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import requests

from .cli import add_config_argument
from .config import load_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "office360.example.toml"
DEMO_LOGIN = "demo"
COMMAND = ".venv/bin/office360"
"""How README tells a reader to run the command (`make demo` does not put it on PATH)."""
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAY = "{ " + ", ".join(f'{day} = "00:00-24:00"' for day in WEEK) + " }"
"""Appointment hours of the demo: any time of any day, so a slot near now can be booked."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser("demo", help="run a demo office: hub, display and kiosk on this machine")
    add_config_argument(demo)
    demo.add_argument("--folder", type=Path, default=Path(".demo"), help="state folder (.demo)")
    demo.add_argument("--port", type=int, default=8360)
    demo.add_argument("--no-display", action="store_true", help="do not open the display window")
    demo.add_argument("--no-kiosk", action="store_true", help="do not open the kiosk window")
    demo.add_argument(
        "--force-windows",
        action="store_true",
        help="open the windows even where no screen is found (Kivy then renders offscreen)",
    )
    demo.add_argument(
        "--seconds", type=float, help="stop after this long (for checks; default: until Ctrl-C)"
    )
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    problem = port_problem(args.port)
    if problem:
        print(f"office360 demo: {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the windows and the hub too
    config = Path(args.config) if args.config else EXAMPLE
    if load_settings(config).hub.database_url:
        print(
            "office360 demo: the demo keeps its own SQLite database in its folder, but this "
            "configuration names a database server ([hub] database_url or "
            "OFFICE360__HUB__DATABASE_URL): run the demo without it",
            file=sys.stderr,
        )
        return 2
    folder = args.folder.resolve()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "tickets").mkdir(exist_ok=True)
    (folder / "state").mkdir(mode=0o700, exist_ok=True)
    url = f"http://127.0.0.1:{args.port}"
    env = demo_environment(config, folder, args.port)
    office360 = [sys.executable, "-m", "office360"]
    # Before the hub starts: the database is then the demo's alone, and the admin token lets
    # the health wait tell the demo's hub from another program answering on the port.
    tokens, password = prepare_database(config, folder)
    procs: list[subprocess.Popen[bytes]] = []
    hub = subprocess.Popen([*office360, "hub"], env=env)
    procs.append(hub)
    try:
        problem = _wait_ours(url, hub, tokens["admin"])
        if problem:
            print(f"office360 demo: {problem}", file=sys.stderr)
            return 1
        _seed(url, tokens["admin"])
        appointment = _book_appointment(url, tokens["admin"])
        companions = []
        screen = args.force_windows or has_screen()
        if screen and not args.no_display and _available("display.app"):
            companions.append(
                ("display", [*office360, "display", "--windowed", "--size", "1280x720"])
            )
        if screen and not args.no_kiosk and _available("kiosk.app"):
            codes = [appointment["code"]] if appointment and appointment.get("code") else []
            source = _demo_codes(folder, codes)
            companions.append(("kiosk", [*office360, "kiosk", "--windowed", "--source", source]))
        started = datetime.now(UTC)
        for role, command in companions:
            role_env = {**env, "OFFICE360__DEVICE__TOKEN": f'"{tokens[role]}"'}
            procs.append(subprocess.Popen(command, env=role_env))
        block = _url_block(
            url, folder, password, appointment, [role for role, _ in companions], screen
        )
        print(block, flush=True)
        reprinted = not companions
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while hub.poll() is None and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.5)
            if not reprinted and _windows_up(url, tokens["admin"], started, len(companions)):
                reprinted = True
                time.sleep(1)  # the windows' last start-up lines first
                print(block, flush=True)  # again: their start-up lines scrolled it away
        return 0 if hub.poll() in (None, 0) else 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def port_problem(port: int, host: str = "127.0.0.1") -> str:
    """Why the hub could not listen on `port` ("" when it can): a bind test as uvicorn binds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} is in use by another program; stop it, or run the demo on "
                    f"another port: {COMMAND} demo --port N"
                )
            return f"cannot listen on {host}:{port} ({exc.strerror}); try {COMMAND} demo --port N"
    return ""


def has_screen(env: Mapping[str, str] | None = None, dri: Path = Path("/dev/dri")) -> bool:
    """An X or Wayland session, or a DRM device (Kivy on KMS, e.g. Raspberry Pi OS Lite with a
    monitor attached)."""
    env = os.environ if env is None else env
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return True
    try:
        return any(dri.glob("card*"))
    except OSError:
        return False


def demo_environment(config: Path, folder: Path, port: int) -> dict[str, str]:
    """The environment of the hub, kiosk and display: every piece of state under `folder`."""
    url = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        "OFFICE360_CONFIG": str(config),
        "OFFICE360__HUB__DATA_DIR": f'"{folder / "data"}"',
        "OFFICE360__HUB__PORT": str(port),
        "OFFICE360__HUB__HOST": '"127.0.0.1"',
        "OFFICE360__APPOINTMENTS__HOURS": ALL_DAY,
        "OFFICE360__DEVICE__HUB_URL": f'"{url}"',
        "OFFICE360__PRINTER__URL": f'"preview://{folder / "tickets"}"',
        "OFFICE360__DEVICE__STATE_DIR": f'"{folder / "state"}"',
        "OFFICE360__KIOSK__CACHE_DIR": f'"{folder / "cache" / "kiosk"}"',
        "OFFICE360__DISPLAY__CACHE_DIR": f'"{folder / "cache" / "display"}"',
        # Kivy's console handler on its own logger only: its default mode also puts one on the
        # root logger and lets every library's DEBUG lines through (urllib3's).
        "KIVY_LOG_MODE": os.environ.get("KIVY_LOG_MODE", "MIXED"),
        "KIVY_HOME": os.environ.get("KIVY_HOME", str(folder / "kivy")),  # its config and logs
        "PYTHONUNBUFFERED": "1",
    }


def prepare_database(config: Path, folder: Path) -> tuple[dict[str, str], str]:
    """Before the hub starts: the devices' and the demo's tokens (kept in `folder` across runs
    while the database knows them) and the demo's admin user (desk panel and admin pages), made
    as `office360 token create` and `office360 user add` make them, with a new random password
    at every start. Returns the tokens by role and the password."""
    from hub import repository, users_repo  # the demo runs the hub: its extras are installed
    from hub.auth import hash_token, new_token
    from hub.cli import _engine
    from hub.services import utcnow
    from hub.sessions import hash_password

    password = secrets.token_urlsafe(12)
    args = argparse.Namespace(config=str(config), data_dir=folder / "data", host=None, port=None)
    settings, engine = _engine(args)
    tokens: dict[str, str] = {}
    try:
        with engine.begin() as conn:
            for role in ("kiosk", "display", "admin"):
                path = folder / f"{role}.token"
                token = path.read_text().strip() if path.exists() else ""
                known = repository.token_by_hash(conn, hash_token(token)) if token else None
                if known is None or known.revoked_at is not None:
                    token = new_token()
                    repository.insert_token(
                        conn,
                        name=f"demo {role}",
                        role=role,
                        office_id=None,
                        desk_id=None,
                        token_hash=hash_token(token),
                        created_at=utcnow(),
                    )
                    path.write_text(token + "\n")
                    path.chmod(0o600)
                tokens[role] = token
            user = users_repo.user_by_login(conn, DEMO_LOGIN)
            if user is None:
                users_repo.insert_user(
                    conn,
                    login=DEMO_LOGIN,
                    name="Demo admin",
                    role="admin",
                    office_id=settings.default_office.id,
                    password_hash=hash_password(password),
                    active=True,
                    created_at=utcnow(),
                )
            else:
                users_repo.set_password_hash(conn, user.id, hash_password(password))
                users_repo.set_active(conn, DEMO_LOGIN, True)
                users_repo.delete_user_sessions(conn, user.id)
    finally:
        engine.dispose()
    return tokens, password


def _wait_ours(
    url: str, proc: subprocess.Popen[bytes], admin_token: str, timeout: float = 60
) -> str:
    """ "" once the demo's own hub answers; else why not. A hub of another program on the port
    does not know the demo's token (401), and the demo's hub process would have ended."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "the hub did not start; see the messages above"
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                mine = requests.get(f"{url}/api/v1/queue", headers=headers, timeout=5)
                if mine.status_code in (401, 403):
                    return f"another program answers on {url}; stop it or use --port N"
                if mine.ok and proc.poll() is None:
                    return ""
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return f"the hub did not answer on {url} within {timeout:.0f} s"


def _seed(url: str, admin_token: str) -> None:
    """A few waiting tickets so the screens have something to show."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    queue = requests.get(f"{url}/api/v1/queue", headers=headers, timeout=5)
    queue.raise_for_status()
    if any(s["waiting"] for s in queue.json()["services"]):
        return
    services = [s["id"] for s in requests.get(f"{url}/api/v1/services", timeout=5).json()]
    for i, service in enumerate(services * 2):
        requests.post(
            f"{url}/api/v1/tickets",
            json={"service": service, "priority": "elderly" if i == 2 else None},
            headers=headers,
            timeout=5,
        )


def _book_appointment(url: str, admin_token: str) -> dict[str, Any] | None:
    """An appointment in the next free slot (the demo's hours are all day), booked through the
    API as a counter clerk would: its QR code checks in at the kiosk. None if none could be."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    try:
        services = requests.get(f"{url}/api/v1/appointments/services", timeout=5)
        if not services.ok or not services.json():
            return None
        service = services.json()[0]["id"]
        now = datetime.now(UTC)

        def slots(day: date) -> dict[str, Any]:
            got = requests.get(
                f"{url}/api/v1/appointments/slots",
                params={"service": service, "day": day.isoformat()},
                timeout=5,
            )
            got.raise_for_status()
            return got.json()  # type: ignore[no-any-return]

        # tomorrow here is never a past day for the office: its answer names the office's zone
        zone = ZoneInfo(slots(date.today() + timedelta(days=1))["timezone"])
        today = now.astimezone(zone).date()
        for day in (today, today + timedelta(days=1)):  # today, else (late at night) tomorrow
            for slot in slots(day)["slots"]:
                if slot["free"] > 0 and datetime.fromisoformat(slot["start"]) > now:
                    booked = requests.post(
                        f"{url}/api/v1/appointments",
                        json={"service": service, "slot_at": slot["start"], "name": "Demo"},
                        headers=headers,
                        timeout=5,
                    )
                    if booked.ok:
                        return booked.json()  # type: ignore[no-any-return]
    except (requests.RequestException, ValueError, KeyError):
        pass
    return None


def _demo_codes(folder: Path, codes: list[str]) -> str:
    """The kiosk's camera: a folder of images that shows `codes` (genuine) first."""
    target = folder / "camera"
    if _available("kiosk.demo_assets"):
        from kiosk import demo_assets  # type: ignore[attr-defined]

        demo_assets.write_demo_folder(target, codes)
    return str(target)


def _windows_up(url: str, admin_token: str, since: datetime, count: int) -> bool:
    """The kiosk and display report their health to the hub once their windows run."""
    try:
        got = requests.get(
            f"{url}/api/v1/devices",
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=2,
        )
        if not got.ok:
            return False
        fresh = set()
        for device in got.json():
            at = datetime.fromisoformat(device["received_at"])
            if (at if at.tzinfo else at.replace(tzinfo=UTC)) >= since:
                fresh.add(device["role"])
        return len(fresh) >= count
    except (requests.RequestException, ValueError, KeyError):
        return False


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _url_block(
    url: str,
    folder: Path,
    password: str,
    appointment: dict[str, Any] | None,
    windows: list[str],
    screen: bool,
) -> str:
    lines = [
        "",
        "office360 demo is running. Open:",
        f"  API schema (OpenAPI)        {url}/openapi.json  (described in docs/api.md)",
        f"  health                      {url}/healthz",
    ]
    for path, what in (
        ("/book", "booking page"),
        ("/desk", "desk panel"),
        ("/take", "take a number"),
        ("/admin", "admin pages"),
    ):
        try:
            if requests.get(f"{url}{path}", timeout=2, allow_redirects=False).status_code < 400:
                lines.append(f"  {what:<27} {url}{path}")
        except requests.RequestException:
            pass
    lines.append(f"  sign in (desk, admin)       login {DEMO_LOGIN}, password {password}")
    if appointment:
        shown = " (the kiosk's demo camera shows its QR code)" if "kiosk" in windows else ""
        lines.append(
            f"  appointment booked          {appointment['local_day']} "
            f"{appointment['local_time']}, {appointment['service']}{shown}"
        )
    opened = ", ".join(windows) or "none"
    if not screen:
        opened += (
            " (no screen found: no DISPLAY, WAYLAND_DISPLAY or /dev/dri/card*;"
            " --force-windows opens them offscreen)"
        )
    lines += [
        f"  printed tickets (PNG)       {folder / 'tickets'}",
        f"  admin token                 {folder / 'admin.token'}",
        f"  windows opened              {opened}",
        'Try:  curl -X POST -H "Authorization: Bearer $(cat '
        f'{folder / "admin.token"})" {url}/api/v1/desks/1/next',
        "Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)
