"""`office360 scan`: what the kiosk's decoder reads, for a technician (and `office360 kiosk`)."""

from __future__ import annotations

import argparse
import sys
import threading
import time

ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_scan(subparsers)
    _register_kiosk(subparsers)


def _register_scan(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="print the QR codes the kiosk reads in images or from a camera",
        description=(
            "One line per image: the path, a tab, and the text decoded (nothing when nothing is "
            "read; several codes are separated by tabs). Backslash, tab, CR and LF in a text are "
            "written \\\\, \\t, \\r and \\n. With --camera or --source, one line per new read."
        ),
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image files to decode")
    live = parser.add_mutually_exclusive_group()
    live.add_argument("--camera", metavar="N", help="camera index (0) or device (/dev/video0)")
    live.add_argument("--source", metavar="PATH", help="a video file or a folder of images")
    parser.add_argument("--seconds", type=float, help="stop a live scan after this long")
    parser.add_argument(
        "--dedupe-seconds", type=float, default=3.0, help="ignore a repeat within (default 3)"
    )
    parser.set_defaults(func=run_scan)


def _register_kiosk(subparsers: argparse._SubParsersAction) -> None:
    from .run import register_kiosk

    register_kiosk(subparsers)


def escape(text: str) -> str:
    out = []
    for char in text:
        if char in ESCAPES:
            out.append(ESCAPES[char])
        elif not char.isprintable() and char != " ":
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def run_scan(args: argparse.Namespace) -> int:
    if args.camera is not None or args.source is not None:
        if args.images:
            print("office360 scan: give images or --camera/--source, not both", file=sys.stderr)
            return 2
        return _scan_live(args)
    if not args.images:
        print("office360 scan: give at least one IMAGE, or --camera N", file=sys.stderr)
        return 2
    return _scan_images(args.images)


def _quiet_opencv() -> None:
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # ours say what went wrong


def _scan_images(paths: list[str]) -> int:
    from .scanner import ScannerError, decode_frame, read_image

    _quiet_opencv()
    status = 0
    for path in paths:
        try:
            codes = decode_frame(read_image(path))
        except ScannerError as exc:
            print(f"office360 scan: {exc.code}: {exc.message}", file=sys.stderr)
            status = 1
            continue
        print("\t".join([path, *(escape(code) for code in codes)]), flush=True)
    return status


def _scan_live(args: argparse.Namespace) -> int:
    from .scanner import FrameSource, OpenCVCamera, Scanner, ScannerError, source_for_path

    _quiet_opencv()
    source: FrameSource
    try:
        if args.camera is not None:
            source = OpenCVCamera(args.camera)
            label = f"camera {args.camera}"
        else:
            source = source_for_path(args.source)
            label = args.source
    except ScannerError as exc:
        print(f"office360 scan: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    output = threading.Lock()

    def on_code(text: str) -> None:
        with output:
            print(f"{label}\t{escape(text)}", flush=True)

    def on_state(state: str) -> None:
        with output:
            print(f"office360 scan: {label}: {state}", file=sys.stderr, flush=True)

    scanner = Scanner(source, on_code, on_state, dedupe_s=args.dedupe_seconds)
    scanner.start()
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while scanner.running and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.05)
    finally:
        scanner.stop()
    return 0
