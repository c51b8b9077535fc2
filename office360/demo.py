"""`office360 demo`: the whole office on one machine, on an embedded SQLite database, with the
preview printer and the demo camera source where no hardware is attached."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .cli import add_config_argument

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "office360.example.toml"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser("demo", help="run a demo office: hub, display and kiosk on this machine")
    add_config_argument(demo)
    demo.add_argument("--folder", type=Path, default=Path(".demo"), help="state folder (.demo)")
    demo.add_argument("--port", type=int, default=8360)
    demo.add_argument("--no-display", action="store_true", help="do not open the display window")
    demo.add_argument("--no-kiosk", action="store_true", help="do not open the kiosk window")
    demo.add_argument(
        "--seconds", type=float, help="stop after this long (for checks; default: until Ctrl-C)"
    )
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    config = Path(args.config) if args.config else EXAMPLE
    folder = args.folder.resolve()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "tickets").mkdir(exist_ok=True)
    (folder / "state").mkdir(mode=0o700, exist_ok=True)
    url = f"http://127.0.0.1:{args.port}"
    env = {
        **os.environ,
        "OFFICE360_CONFIG": str(config),
        "OFFICE360__HUB__DATA_DIR": f'"{folder / "data"}"',
        "OFFICE360__HUB__PORT": str(args.port),
        "OFFICE360__HUB__HOST": '"127.0.0.1"',
        "OFFICE360__DEVICE__HUB_URL": f'"{url}"',
        "OFFICE360__PRINTER__URL": f'"preview://{folder / "tickets"}"',
        "OFFICE360__DEVICE__STATE_DIR": f'"{folder / "state"}"',
        "PYTHONUNBUFFERED": "1",
    }
    office360 = [sys.executable, "-m", "office360"]
    procs: list[subprocess.Popen[bytes]] = []
    hub = subprocess.Popen([*office360, "hub"], env=env)
    procs.append(hub)
    try:
        if not _wait_healthy(url, hub):
            print("office360 demo: the hub did not start; see the messages above", file=sys.stderr)
            return 1
        tokens = {
            role: _token(office360, env, folder, role) for role in ("kiosk", "display", "admin")
        }
        _seed(url, tokens["admin"])
        companions = []
        if not args.no_display and _available("display.app"):
            companions.append(
                ("display", [*office360, "display", "--windowed", "--size", "1280x720"])
            )
        if not args.no_kiosk and _available("kiosk.app"):
            companions.append(
                ("kiosk", [*office360, "kiosk", "--windowed", "--source", str(_demo_codes(folder))])
            )
        for role, command in companions:
            role_env = {**env, "OFFICE360__DEVICE__TOKEN": f'"{tokens[role]}"'}
            procs.append(subprocess.Popen(command, env=role_env))
        _print_urls(url, folder, tokens, [role for role, _ in companions])
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while hub.poll() is None and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.5)
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


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def _token(office360: list[str], env: dict[str, str], folder: Path, role: str) -> str:
    path = folder / f"{role}.token"
    if path.exists():
        return path.read_text().strip()
    made = subprocess.run(
        [*office360, "token", "create", "--role", role, "--name", f"demo {role}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip()
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token


def _seed(url: str, admin_token: str) -> None:
    """A few waiting tickets so the screens have something to show."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    queue = requests.get(f"{url}/api/v1/queue", headers=headers, timeout=5).json()
    if any(s["waiting"] for s in queue["services"]):
        return
    services = [s["id"] for s in requests.get(f"{url}/api/v1/services", timeout=5).json()]
    for i, service in enumerate(services * 2):
        requests.post(
            f"{url}/api/v1/tickets",
            json={"service": service, "priority": "elderly" if i == 2 else None},
            headers=headers,
            timeout=5,
        )


def _demo_codes(folder: Path) -> Path:
    target = folder / "camera"
    if _available("kiosk.demo_assets"):
        from kiosk import demo_assets  # type: ignore[attr-defined]

        demo_assets.write_demo_folder(target)
    return target


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _print_urls(url: str, folder: Path, tokens: dict[str, str], windows: list[str]) -> None:
    lines = [
        "",
        "office360 demo is running. Open:",
        f"  API and its documentation   {url}/docs",
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
    lines += [
        f"  printed tickets (PNG)       {folder / 'tickets'}",
        f"  admin token                 {folder / 'admin.token'}",
        f"  windows opened              {', '.join(windows) or 'none'}",
        'Try:  curl -X POST -H "Authorization: Bearer $(cat '
        f'{folder / "admin.token"})" {url}/api/v1/desks/1/next',
        "Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)
