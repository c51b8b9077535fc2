"""Run the display with a line-based JSON probe, for tests and benchmarks.

    python -m display.probe --config FILE --size 1280x720

Writes one JSON object per line on stdout: {"event": "ready"}, {"event": "board", ...} on every
board change, {"event": "received", "id", "t"} when the stream thread gets a ticket.called event,
{"event": "widget", "number", "t"} when the current number's label has rendered its text,
{"event": "shown", "number", "t"} when the first frame after the number changed is drawn
(glFinish) -- t is time.monotonic(), comparable across processes on Linux --
{"event": "spoken", "texts"} per announcement, {"event": "pairing", "kind": "code"|"status",
"value", "status_text", "instruction_text"} while a device with no token pairs (what its screen
says). Reads commands from stdin, one per line:
{"cmd": "screenshot", "path": P}, {"cmd": "stats"}, {"cmd": "quit"}.
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


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from office360.config import load_settings

    from .cli import configure_kivy, window_size

    parser = argparse.ArgumentParser(prog="python -m display.probe")
    parser.add_argument("--config", required=True)
    parser.add_argument("--size", type=window_size, default=(1280, 720))
    parser.add_argument(
        "--silent", action="store_true", help="record announcement texts; no espeak-ng, no audio"
    )
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    configure_kivy(settings, False, args.size)

    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.graphics.opengl import glFinish

    from .announcer import RecordingPlayer
    from .app import DisplayApp
    from .board import describe

    out_lock = threading.Lock()

    def emit(**payload: Any) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    if args.silent:
        app = DisplayApp(settings, player=RecordingPlayer(), voice=False)
    else:
        app = DisplayApp(settings)
    shown: dict[str, Any] = {"number": None, "calls": 0, "pending": False}

    screenshots: list[Path] = []
    frames = [0]

    def on_flip(*_args: Any) -> None:
        # Bound handlers run before the window's own flip: the back buffer holds this frame.
        # glFinish makes "shown" mean drawn, not merely submitted. Only when asked: it holds the
        # GIL while software GL (llvmpipe) renders, which would delay the stream thread.
        frames[0] += 1
        if shown["pending"] or screenshots:
            glFinish()
        if shown["pending"]:
            shown["pending"] = False
            emit(event="shown", number=shown["number"], t=time.monotonic())
        while screenshots:
            target = screenshots.pop(0)
            started = time.monotonic()
            _screenshot(Window, target)
            emit(
                event="screenshot",
                path=str(target),
                size=list(Window.size),
                seconds=round(time.monotonic() - started, 3),
                fps=round(Clock.get_fps(), 1),
            )

    def on_texture(label: Any, _texture: Any) -> None:
        # the number's label has rasterised its new text: the widget shows it from the next frame
        if label.text:
            emit(event="widget", number=label.text, t=time.monotonic())

    def on_board(board: Any) -> None:
        number = board.current.number if board.current else None
        if number != shown["number"] or board.calls != shown["calls"]:
            shown.update(number=number, calls=board.calls, pending=True)
        emit(event="board", t=time.monotonic(), **describe(board))

    def on_command(line: str) -> None:
        try:
            command = json.loads(line)
        except ValueError:
            emit(event="error", code="bad_command", line=line[:200])
            return
        name = command.get("cmd")
        if name == "screenshot":
            screenshots.append(Path(command["path"]))
            Window.canvas.ask_update()
        elif name == "stats":
            gc.collect()
            emit(
                event="stats",
                frames=frames[0],
                rss_kib=_rss_kib(),
                widgets=_count_widgets(Window),
                board=describe(app.board),
            )
        elif name == "quit":
            app.stop()
        else:
            emit(event="error", code="unknown_command", cmd=name)

    def read_commands() -> None:
        for line in sys.stdin:
            if line.strip():
                Clock.schedule_once(lambda _dt, text=line: on_command(text), 0)
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    def ready(_dt: float) -> None:
        assert app.screen is not None
        app.screen.ids.current_number.bind(texture=on_texture)
        emit(event="ready", size=list(Window.size))

    handle_event = app.stream.on_event

    def on_event(event: Any) -> None:  # when the stream thread has the event, before the UI
        if event.event == "ticket.called":
            emit(event="received", id=event.id, t=time.monotonic())
        handle_event(event)

    app.stream.on_event = on_event
    app.board_listeners.append(on_board)
    app.spoken_listeners.append(lambda spoken: emit(event="spoken", texts=list(spoken.texts)))

    def on_pairing(kind: str, value: str) -> None:
        screen = app.pairing_screen
        text = screen.status_text if screen else ""
        shown = screen.instruction_text if screen else ""
        emit(event="pairing", kind=kind, value=value, status_text=text, instruction_text=shown)

    app.pairing_listeners.append(on_pairing)
    Window.bind(on_flip=on_flip)
    threading.Thread(target=read_commands, daemon=True).start()
    Clock.schedule_once(ready, 0.2)
    app.run()
    emit(event="stopped")
    return 0


def _screenshot(window: Any, target: Path) -> None:
    """The back buffer as PNG (Kivy's own PNG writer took seconds per frame under llvmpipe)."""
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
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(png)
    tmp.replace(target)


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _count_widgets(window: Any) -> int:
    count, stack = 0, list(window.children)
    while stack:
        widget = stack.pop()
        count += 1
        stack.extend(widget.children)
    return count


if __name__ == "__main__":
    raise SystemExit(main())
