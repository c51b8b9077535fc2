"""Run the real kiosk app under a line-based JSON probe, for tests, benchmarks and screenshots.

    python -m kiosk.probe --config FILE --size 1280x800 [--fake-camera] [--printer URL]

stdout, one JSON object a line: {"event": "ready"}, {"event": "first_frame", "t"} (t is
time.monotonic(), comparable across processes on Linux), {"event": "view", ...} on every view
shown, {"event": "pairing", "kind": "code"|"status"|"retry", "value", "code_px", "status_text",
"instruction_text"} while a kiosk with no token pairs (what its pairing screen says), {"event": "beep"},
{"event": "tapped", "target", "hit"}, {"event": "screenshot"}, {"event": "controls", "buttons":
[...]}, {"event": "stats", "rss_kib", ...}, {"event": "code_at"}.

stdin, one command a line: {"cmd": "tap", "target": "service:general"} (a real touch at the
button's centre, through Kivy's input dispatch), {"cmd": "code", "text": T, "frames": 6} (the
code held up to the fake camera for that many frames), {"cmd": "wedge", "text": T} (typed as a keyboard-wedge scanner would),
{"cmd": "unplug"}, {"cmd": "replug"}, {"cmd": "screenshot", "path": P}, {"cmd": "controls"},
{"cmd": "stats"}, {"cmd": "quit"}.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import struct
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

STARTED = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from .run import configure_kivy, default_size, prepare_environment, window_size

    prepare_environment()
    from office360.config import load_settings

    parser = argparse.ArgumentParser(prog="python -m kiosk.probe")
    parser.add_argument("--config", required=True)
    parser.add_argument("--size", type=window_size)
    parser.add_argument("--fake-camera", action="store_true", help="a FakeCamera fed by 'code'")
    parser.add_argument("--source", help="a folder of images or a video instead of the camera")
    parser.add_argument("--printer", help="printer URL instead of [printer] url")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    configure_kivy(False, args.size or default_size(settings.kiosk.orientation))

    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.graphics.opengl import glFinish
    from kivy.input.motionevent import MotionEvent

    from .app import KioskApp
    from .screens.base import BigButton

    office = settings.office(settings.device.office)
    assert office is not None, "the probe needs a configured office"
    cameras: list[Any] = []

    def fake_camera() -> Any:  # on the bring-up thread, after the first frame, as a camera
        from .scanner import FakeCamera

        cameras.append(FakeCamera(size=(640, 480), fps=30))
        return cameras[0]

    app = KioskApp(
        settings,
        office,
        settings.device.hub_url,
        source_spec=args.source,
        source_factory=fake_camera if args.fake_camera else None,
        printer_url=args.printer,
    )
    out_lock = threading.Lock()

    def emit(**payload: Any) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    state: dict[str, Any] = {"first": True}
    screenshots: list[Path] = []

    def on_flip(*_args: Any) -> None:
        glFinish()
        state["flips"] = state.get("flips", 0) + 1
        if state["first"]:
            state["first"] = False
            emit(event="first_frame", t=time.monotonic(), since_start=time.monotonic() - STARTED)
        while screenshots:
            target = screenshots.pop(0)
            _screenshot(Window, target)
            emit(event="screenshot", path=str(target), size=list(Window.size))

    def on_view(view: Any) -> None:
        ticket = view.ticket
        emit(
            event="view",
            t=time.monotonic(),
            screen=view.screen.value,
            lang=view.lang,
            number=ticket.number if ticket else None,
            status_url=ticket.status_url if ticket else None,
            printed=ticket.printed if ticket else None,
            problem=ticket.printer_problem if ticket else None,
            error=view.error.code if view.error else None,
            camera_ok=view.camera_ok,
            attempts=view.attempts,
        )

    def buttons() -> list[BigButton]:
        screen = app.manager.current_screen if app.manager else None
        found: list[BigButton] = []
        stack = [screen] if screen is not None else []
        while stack:
            widget = stack.pop()
            if isinstance(widget, BigButton):
                found.append(widget)
            stack.extend(widget.children)
        return found

    def tap(target: str) -> None:
        button = next((b for b in buttons() if b.target == target), None)
        if button is None:
            emit(event="tapped", target=target, hit=False, reason="no such button on screen")
            return
        x, y = button.to_window(*button.center)
        touch = _touch(MotionEvent, Window, x, y)
        EventLoop.post_dispatch_input("begin", touch)
        EventLoop.post_dispatch_input("end", touch)
        emit(event="tapped", target=target, hit=True, x=x, y=y)

    def on_command(line: str) -> None:
        try:
            command = json.loads(line)
        except ValueError:
            emit(event="error", code="bad_command", line=line[:200])
            return
        name = command.get("cmd")
        if name == "tap":  # two frames on, so a screen shown just now has been laid out
            target = str(command.get("target", ""))
            Clock.schedule_once(lambda _dt: Clock.schedule_once(lambda _dt2: tap(target)), 0)
        elif name == "code" and cameras:
            from .scanner import qr_frame

            # held up to the camera: the same code in several frames, as a hand gives it
            frame = qr_frame(str(command["text"]), cameras[0].size)
            cameras[0].push(*[frame] * int(command.get("frames", 6)))
            emit(event="code_at", t=time.monotonic())
        elif name == "wedge":
            now = time.monotonic()
            for char in str(command["text"]) + "\r":
                key = 13 if char == "\r" else ord(char)
                Window.dispatch("on_key_down", key, 0, None if char == "\r" else char, [])
            emit(event="code_at", t=now)
        elif name == "unplug" and cameras:
            cameras[0].unplug()
        elif name == "replug" and cameras:
            cameras[0].replug()
        elif name == "screenshot":
            screenshots.append(Path(command["path"]))
            Window.canvas.ask_update()
        elif name == "controls":
            emit(
                event="controls",
                window=list(Window.size),
                buttons=[
                    {"target": b.target, "text": b.text, "rect": [*b.to_window(*b.pos), *b.size]}
                    for b in buttons()
                ],
            )
        elif name == "stats":
            gc.collect()
            emit(
                event="stats",
                rss_kib=_rss_kib(),
                **_rss_parts_kib(),
                threads=threading.active_count(),
                widgets=_count_widgets(Window),
                camera=app.camera_status(),
                frames=app.frame_count(),
                drawn=state.get("flips", 0),
            )
        elif name == "quit":
            app.stop()
        elif name in ("code", "unplug", "replug"):
            emit(event="error", code="camera_not_ready", cmd=name)
        else:
            emit(event="error", code="unknown_command", cmd=name)

    def read_commands() -> None:
        for line in sys.stdin:
            if line.strip():
                Clock.schedule_once(lambda _dt, text=line: on_command(text), 0)
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    app.view_listeners.append(on_view)
    if app.pairing is not None:  # no token: the pairing code first (kiosk/pairing.py)
        pairing = app.pairing

        def on_pairing(kind: str, value: Any) -> None:
            screen = pairing.screen
            code_px = screen.ids.code.font_size if screen else 0
            text = screen.status_text if screen else ""
            shown = screen.instruction_text if screen else ""
            emit(
                event="pairing",
                kind=kind,
                value=value,
                code_px=code_px,
                status_text=text,
                instruction_text=shown,
            )

        pairing.listeners.append(on_pairing)
    app.beep_listeners.append(lambda: emit(event="beep", t=time.monotonic()))
    Window.bind(on_flip=on_flip)
    threading.Thread(target=read_commands, daemon=True).start()
    Clock.schedule_once(lambda _dt: emit(event="ready", size=list(Window.size)), 0.2)
    app_ready = app._backend_ready

    def backend_ready(*args: Any) -> None:
        app_ready(*args)
        emit(event="backend", t=time.monotonic(), camera=bool(cameras))

    app._backend_ready = backend_ready  # type: ignore[method-assign]
    app.run()
    emit(event="stopped")
    return 0


def _touch(base: Any, window: Any, x: float, y: float) -> Any:
    """A single finger at window pixel (x, y), dispatched like a real touch screen's."""

    class ProbeTouch(base):  # type: ignore[misc, valid-type]
        def depack(self, args: dict[str, float]) -> None:
            self.sx, self.sy = args["sx"], args["sy"]
            self.profile = ["pos"]
            super().depack(args)

    sx, sy = x / max(1, window.width - 1), y / max(1, window.height - 1)
    return ProbeTouch("probe", 1, {"sx": sx, "sy": sy}, is_touch=True, type_id="touch")


def _screenshot(window: Any, target: Path) -> None:
    """The back buffer as PNG, written with zlib (Kivy's own writer is slow offscreen)."""
    from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glReadPixels

    width, height = window.size
    data = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
    stride = width * 3
    rows = [b"\0" + data[y * stride : (y + 1) * stride] for y in range(height - 1, -1, -1)]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b"")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(png)
    tmp.replace(target)


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_parts_kib() -> dict[str, int]:
    """Private (anonymous) and file-backed resident memory, and the part of it that is Mesa's
    software OpenGL renderer (llvmpipe: libLLVM and the DRI driver), which a machine with a GPU
    driver does not load."""
    parts = {"rss_anon_kib": 0, "rss_file_kib": 0, "software_gl_kib": 0}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("RssAnon:", "RssFile:")):
                key = "rss_anon_kib" if line.startswith("RssAnon") else "rss_file_kib"
                parts[key] = int(line.split()[1])
    path = ""
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if fields and not fields[0].endswith(":"):
                path = fields[5] if len(fields) > 5 else ""
            elif fields and fields[0] == "Rss:" and ("libLLVM" in path or "_dri.so" in path):
                parts["software_gl_kib"] += int(fields[1])
    return parts


def _count_widgets(window: Any) -> int:
    count, stack = 0, list(window.children)
    while stack:
        widget = stack.pop()
        count += 1
        stack.extend(widget.children)
    return count


if __name__ == "__main__":
    raise SystemExit(main())
