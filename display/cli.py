"""`office360 display --config FILE [--fullscreen/--windowed] [--size WxH]`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from office360.cli import add_config_argument, settings_from
from office360.config import Settings
from office360.pairing_client import PairingClient

from .checks import check

SIZE = re.compile(r"^(\d{3,5})x(\d{3,5})$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "display",
        help="the waiting-room call board with chime and voice",
        description="Show the office's calls full screen and announce them.",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--fullscreen",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fill the screen (default: [display] fullscreen); --windowed for a window",
    )
    parser.add_argument(
        "--windowed", dest="fullscreen", action="store_false", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--size", type=window_size, metavar="WxH", help="window size, e.g. 1920x1080 or 1280x720"
    )
    parser.set_defaults(func=run)


def window_size(text: str) -> tuple[int, int]:
    match = SIZE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, got {text!r}")
    width, height = int(match[1]), int(match[2])
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise argparse.ArgumentTypeError(f"size {text} is out of range 320x240 .. 7680x4320")
    return width, height


def configure_kivy(
    settings: Settings, fullscreen: bool | None, size: tuple[int, int] | None
) -> None:
    """Must run before kivy.core.window is imported."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # Kivy must not read office360's arguments
    from kivy.config import Config

    full = settings.display.fullscreen if fullscreen is None else fullscreen
    if size is None:
        size = (1920, 1080) if settings.display.orientation == "landscape" else (1080, 1920)
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if full else "0")
    Config.set("graphics", "show_cursor", "0" if full else "1")
    Config.set("kivy", "exit_on_escape", "0" if full else "1")
    Config.set("input", "mouse", "mouse,disable_multitouch")


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not settings.device.hub_url.strip():  # find the hub on the LAN (mDNS)
        from office360.core.errors import DomainError
        from office360.discovery import resolve_hub_url

        try:
            url = resolve_hub_url("", settings.device.office)
        except (DomainError, OSError) as exc:
            print(f"office360 display: cannot find the hub: {exc}", file=sys.stderr)
            return 2
        device = settings.device.model_copy(update={"hub_url": url})
        settings = settings.model_copy(update={"device": device})
    check(settings)  # before Kivy takes over stderr and opens a window
    pairing = None
    if not settings.device.resolved_token():
        pairing = open_pairing(settings)
        if pairing is None:
            return 2
    configure_kivy(settings, args.fullscreen, args.size)
    from .app import DisplayApp

    DisplayApp(settings, pairing=pairing).run()
    return 0


def open_pairing(settings: Settings) -> PairingClient | None:
    """No token yet: ask the hub for a pairing code before the window opens (None after saying
    on stderr why pairing cannot start; systemd starts the display again a little later). A hub
    busy pairing other devices is no reason to stop: the screen says so, and the client tries
    again by itself."""
    from office360.pairing_client import PairingBusy, PairingError

    pairing = PairingClient.from_settings(settings.device, "display")
    try:
        pairing.open()
    except PairingBusy as exc:
        print(f"office360 display: {exc}; trying again by itself", file=sys.stderr)
    except PairingError as exc:
        print(
            f"office360 display: no token in [device] token/token_file and pairing cannot "
            f"start ({exc.code}: {exc}); pair it when the hub is reachable, or make a token "
            "with `office360 token create --role display --name 'Waiting room TV'`",
            file=sys.stderr,
        )
        return None
    return pairing
