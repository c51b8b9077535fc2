"""`office360 kiosk --config FILE [--windowed] [--size WxH] [--source PATH] [--printer URL]`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

SIZE = re.compile(r"^(\d{3,5})x(\d{3,5})$")


def register_kiosk(subparsers: Any) -> None:
    from office360.cli import add_config_argument

    parser = subparsers.add_parser(
        "kiosk",
        help="the kiosk at the door: appointment check-in and walk-in tickets",
        description=(
            "Full-screen touch kiosk: scans appointment QR codes, issues walk-in numbers, prints "
            "the ticket or shows it as a QR for the phone. Reaches the hub through [device]."
        ),
    )
    add_config_argument(parser)
    parser.add_argument(
        "--windowed", action="store_true", help="a window instead of the full screen"
    )
    parser.add_argument("--size", type=window_size, metavar="WxH", help="e.g. 1280x800, 800x1280")
    parser.add_argument(
        "--source", metavar="PATH", help="read codes from a folder of images or a video file"
    )
    parser.add_argument("--printer", metavar="URL", help="print here instead of [printer] url")
    parser.set_defaults(func=run_kiosk)


def window_size(text: str) -> tuple[int, int]:
    match = SIZE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"size must look like 1280x800, got {text!r}")
    width, height = int(match[1]), int(match[2])
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise argparse.ArgumentTypeError(f"size {text} is out of range 320x240 .. 7680x4320")
    return width, height


def configure_kivy(fullscreen: bool, size: tuple[int, int]) -> None:
    """Must run before kivy.core.window is imported."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    # No multisampling: the screens are axis-aligned rectangles, text and images, which it
    # does not smooth; Kivy's default 2x cost 44 MB with software GL and GPU memory elsewhere.
    Config.set("graphics", "multisamples", "0")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("kivy", "exit_on_escape", "0" if fullscreen else "1")
    Config.set("input", "mouse", "mouse,disable_multitouch")


def prepare_environment() -> None:
    """python-escpos caches its printer capabilities in a new temporary folder per process
    unless told where: 1.4 s of every start-up on a small machine. Give it a lasting one."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.gettempdir()) / f"office360-escpos-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(folder))


def default_size(orientation: str) -> tuple[int, int]:
    return (1280, 800) if orientation == "landscape" else (800, 1280)


def run_kiosk(args: argparse.Namespace) -> int:
    prepare_environment()
    from office360.cli import settings_from
    from office360.config import ConfigError
    from office360.core.errors import DomainError

    try:
        settings = settings_from(args)
    except ConfigError as exc:
        print(f"office360 kiosk: {exc}", file=sys.stderr)
        return 2
    needs_pairing = not settings.device.resolved_token()
    problem = token_file_problem(settings.device) if needs_pairing else ""
    if problem:
        print(f"office360 kiosk: token_file_outside_state_dir: {problem}", file=sys.stderr)
        return 2
    office = settings.office(settings.device.office)
    if office is None:
        print(
            f"office360 kiosk: [device] office {settings.device.office!r} is not configured",
            file=sys.stderr,
        )
        return 2
    hub_url = settings.device.hub_url.strip().rstrip("/")
    if not hub_url:  # find it on the LAN (mDNS); zeroconf is imported only then
        from office360.discovery import resolve_hub_url

        try:
            hub_url = resolve_hub_url("", settings.device.office)
        except (DomainError, OSError) as exc:
            print(f"office360 kiosk: cannot find the hub: {exc}", file=sys.stderr)
            return 2
    problem = source_problem(args.source if args.source is not None else settings.kiosk.camera)
    if problem:
        print(f"office360 kiosk: source_invalid: {problem}", file=sys.stderr)
        return 2
    pairing = None
    if needs_pairing:
        from office360.pairing_client import PairingError

        from .pairing import kiosk_pairing_client

        pairing = kiosk_pairing_client(settings, hub_url)
        try:
            pairing.check_state_dir()
        except PairingError as exc:
            print(
                f"office360 kiosk: no token in [device] token/token_file, and pairing cannot "
                f"keep one ({exc.code}: {exc}); fix the state_dir, or make a token with "
                "`office360 token create --role kiosk --name 'Door kiosk'`",
                file=sys.stderr,
            )
            return 2
        print(
            "office360 kiosk: no token in [device] yet: the screen shows a pairing code; enter it "
            "on the hub's admin page or run `office360 device approve CODE` on the hub",
            file=sys.stderr,
        )
    size = args.size or default_size(settings.kiosk.orientation)
    configure_kivy(settings.kiosk.fullscreen and not args.windowed, size)
    from .app import KioskApp

    KioskApp(
        settings,
        office,
        hub_url,
        source_spec=args.source,
        printer_url=args.printer,
        pairing=pairing,
    ).run()
    return 0


def token_file_problem(device: Any) -> str:
    """Pairing stores the token as [device] state_dir/device.token; a token_file set elsewhere
    would never read it, and the kiosk would pair again at every start."""
    from office360.enrollment import token_path

    stored = token_path(device.state_dir)
    if device.token_file is None or device.token_file.absolute() == stored.absolute():
        return ""
    return (
        f"[device] token_file {device.token_file} does not exist, and pairing would store the "
        f"token as {stored}: set token_file to that path (or remove it), or set state_dir"
    )


def source_problem(spec: str) -> str:
    """Why a [kiosk] camera / --source cannot be used ("" when it can), checked before the
    window opens; a camera that is not plugged in yet is fine (the kiosk waits for it)."""
    from pathlib import Path

    spec = spec.strip()
    if not spec or spec.isdigit() or spec.startswith("/dev/"):
        return ""
    if not Path(spec).exists():
        return f"{spec}: no such image folder or video file"
    return ""
