"""ESC/POS bytes back to what a person sees on paper: styled text lines, QR payloads, images, cuts.

Used by the tests (the kiosk's too) to assert on the printed ticket, and by the PNG preview.
Unknown commands raise DecodeError, so a stray byte in a job is caught rather than ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
LF, CR, HT, FF, NUL = 0x0A, 0x0D, 0x09, 0x0C, 0x00


class DecodeError(ValueError):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"byte {offset}: {reason}")
        self.offset = offset


@dataclass(frozen=True)
class Style:
    align: str = "left"
    bold: bool = False
    underline: int = 0
    width: int = 1
    height: int = 1
    invert: bool = False
    font: int = 0
    upside_down: bool = False


@dataclass(frozen=True)
class Run:
    text: str
    style: Style


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]
    align: str
    feed_dots: int = 0
    """Extra dots fed after this line (ESC J), beyond normal line spacing."""

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    @property
    def style(self) -> Style:
        """The style of the first visible run (the line's style when it has one)."""
        visible = [r for r in self.runs if r.text.strip()]
        return (visible or list(self.runs) or [Run("", Style(align=self.align))])[0].style

    @property
    def bold(self) -> bool:
        return self.style.bold

    @property
    def width(self) -> int:
        return self.style.width

    @property
    def height(self) -> int:
        return self.style.height

    @property
    def invert(self) -> bool:
        return self.style.invert

    @property
    def cells(self) -> int:
        """Width in Font A character cells."""
        return sum(len(r.text) * r.style.width for r in self.runs)


@dataclass(frozen=True)
class QrCode:
    payload: str
    native: bool
    align: str
    module_dots: int = 3
    ec: str = "L"


@dataclass(frozen=True)
class Raster:
    """A bit image: rows of `width` dots, 1 = black."""

    width: int
    height: int
    data: bytes
    align: str

    def to_image(self) -> Any:
        from PIL import Image, ImageOps

        image = Image.frombytes("1", (self.width, self.height), self.data)
        return ImageOps.invert(image.convert("L")).convert("1")


@dataclass(frozen=True)
class CutMark:
    partial: bool


Item = Line | QrCode | Raster | CutMark


@dataclass
class Document:
    items: list[Item] = field(default_factory=list)
    code_pages: list[str] = field(default_factory=list)
    status_queries: list[int] = field(default_factory=list)
    resets: int = 0

    @property
    def lines(self) -> list[Line]:
        return [i for i in self.items if isinstance(i, Line)]

    @property
    def text_lines(self) -> list[str]:
        """The non-blank lines, stripped: what a person reads."""
        return [line.text.strip() for line in self.lines if line.text.strip()]

    @property
    def text(self) -> str:
        return "\n".join(self.text_lines)

    @property
    def qr_payloads(self) -> list[str]:
        found = [i.payload for i in self.items if isinstance(i, QrCode)]
        return found

    @property
    def cuts(self) -> list[CutMark]:
        return [i for i in self.items if isinstance(i, CutMark)]

    def line(self, containing: str) -> Line:
        for line in self.lines:
            if containing in line.text:
                return line
        raise LookupError(f"no printed line contains {containing!r}")

    def tickets(self) -> list[Document]:
        """The document split at each cut."""
        out, current = [], Document(code_pages=self.code_pages)
        for item in self.items:
            current.items.append(item)
            if isinstance(item, CutMark):
                out.append(current)
                current = Document(code_pages=self.code_pages)
        if current.items:
            out.append(current)
        return out


@lru_cache(maxsize=16)
def _code_page_table(profile: str) -> dict[int, str]:
    from office360.config import escpos_capabilities

    pages = escpos_capabilities()["profiles"][profile]["codePages"]
    return {int(k): v for k, v in pages.items()}


@lru_cache(maxsize=64)
def _high_chars(code_page: str) -> str:
    """Characters for bytes 128..255 in a code page ('?' where unknown)."""
    from office360.config import escpos_capabilities

    data = escpos_capabilities()["encodings"].get(code_page, {})
    if "data" in data:
        return "".join(data["data"])
    if "python_encode" in data:
        return "".join(
            bytes((b,)).decode(data["python_encode"], errors="replace").replace("\ufffd", "?")
            for b in range(128, 256)
        )
    return "?" * 128


def decode(data: bytes, *, profile: str = "TM-T88V", decode_images: bool = True) -> Document:
    """Decode an ESC/POS job; `profile` maps ESC t n to code pages as the sender's profile did."""
    return _Decoder(data, profile, decode_images).run()


class _Decoder:
    def __init__(self, data: bytes, profile: str, decode_images: bool) -> None:
        self.data = data
        self.pos = 0
        self.pages = _code_page_table(profile)
        self.decode_images = decode_images
        self.doc = Document()
        self.reset()
        self.runs: list[Run] = []
        self.line_align = "left"

    def reset(self) -> None:
        self.style = Style()
        self.code_page = self.pages.get(0, "CP437")
        self.qr_store = ""
        self.qr_size = 3
        self.qr_ec = "L"
        self.graphics = b""

    # --- reading -------------------------------------------------------
    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise DecodeError(self.pos, "command cut short")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(self.pos, f"expected {n} more bytes")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u16(self) -> int:
        low, high = self.byte(), self.byte()
        return low + 256 * high

    # --- output --------------------------------------------------------
    def put(self, text: str) -> None:
        if not self.runs:
            self.line_align = self.style.align
        if self.runs and self.runs[-1].style == self.style:
            self.runs[-1] = Run(self.runs[-1].text + text, self.style)
        else:
            self.runs.append(Run(text, self.style))

    def end_line(self, feed_dots: int = 0) -> None:
        align = self.line_align if self.runs else self.style.align
        self.doc.items.append(Line(tuple(self.runs), align, feed_dots))
        self.runs = []

    def flush(self) -> None:
        if self.runs:
            self.end_line()

    def run(self) -> Document:
        while self.pos < len(self.data):
            start = self.pos
            b = self.byte()
            if b == LF:
                self.end_line()
            elif b == ESC:
                self.esc(start)
            elif b == GS:
                self.gs(start)
            elif b == DLE:
                self.dle(start)
            elif b == FS:
                self.fs(start)
            elif b in (CR, NUL):
                pass
            elif b == FF:
                self.end_line()
            elif b == HT:
                self.put(" ")
            elif b < 0x20 or b == 0x7F:
                raise DecodeError(start, f"unknown control byte 0x{b:02x}")
            elif b < 0x80:
                self.put(chr(b))
            else:
                self.put(_high_chars(self.code_page)[b - 128])
        self.flush()
        return self.doc

    def esc(self, start: int) -> None:
        cmd = self.byte()
        c = chr(cmd)
        if c == "@":
            self.flush()
            self.reset()
            self.doc.resets += 1
        elif c == "a":
            n = self.byte()
            self.style = replace(self.style, align={0: "left", 1: "center", 2: "right"}[n % 48])
        elif c in "EG":
            self.style = replace(self.style, bold=bool(self.byte() & 1))
        elif c == "-":
            self.style = replace(self.style, underline=self.byte() % 48)
        elif c == "M":
            self.style = replace(self.style, font=self.byte() % 48)
        elif c == "!":
            n = self.byte()
            self.style = replace(
                self.style,
                font=n & 1,
                bold=bool(n & 0x08),
                height=2 if n & 0x10 else 1,
                width=2 if n & 0x20 else 1,
                underline=1 if n & 0x80 else 0,
            )
        elif c == "t":
            n = self.byte()
            page = self.pages.get(n)
            if page is None or page == "Unknown":
                raise DecodeError(start, f"ESC t {n}: no code page {n} in the profile")
            self.code_page = page
            self.doc.code_pages.append(page)
        elif c == "d":
            self.end_line()
            for _ in range(self.byte() - 1):
                self.end_line()
        elif c == "J":
            n = self.byte()
            self.end_line(feed_dots=n)
        elif c == "{":
            self.style = replace(self.style, upside_down=bool(self.byte() & 1))
        elif c in "2":
            pass
        elif c in "3RSV r=U":
            self.byte()
        elif c == "*":
            m, width = self.byte(), self.u16()
            self.take(width * (3 if m in (32, 33) else 1))
        elif c == "p":
            self.take(3)
        elif c == "c":
            self.take(2)
        elif c in "im":
            self.flush()
            self.doc.items.append(CutMark(partial=True))
        else:
            raise DecodeError(start, f"unknown command ESC {c!r} (0x{cmd:02x})")

    def gs(self, start: int) -> None:
        cmd = self.byte()
        c = chr(cmd)
        if c == "!":
            n = self.byte()
            self.style = replace(self.style, width=(n >> 4) + 1, height=(n & 0x0F) + 1)
        elif c == "B":
            self.style = replace(self.style, invert=bool(self.byte() & 1))
        elif c == "V":
            self.flush()
            m = self.byte()
            if m in (65, 66, 97, 98, 103, 104):
                self.byte()
            self.doc.items.append(CutMark(partial=m in (1, 49, 66, 98, 104)))
        elif c == "v":
            if self.byte() != ord("0"):
                raise DecodeError(start, "GS v: only raster format 0 is known")
            self.byte()
            width_bytes, height = self.u16(), self.u16()
            self.raster(width_bytes * 8, height, self.take(width_bytes * height))
        elif c == "(":
            self.gs_paren(start)
        elif c in "bfhHwa|":
            self.byte()
        elif c in "LWP":
            self.take(2)
        elif c == "k":
            m = self.byte()
            if m <= 6:
                while self.byte() != 0:
                    pass
            else:
                self.take(self.byte())
        else:
            raise DecodeError(start, f"unknown command GS {c!r} (0x{cmd:02x})")

    def gs_paren(self, start: int) -> None:
        kind = chr(self.byte())
        size = self.u16()
        body = self.take(size)
        if kind == "k" and len(body) >= 2 and body[0] == ord("1"):
            fn, rest = body[1], body[2:]
            if fn == 67:
                self.qr_size = rest[0]
            elif fn == 69:
                self.qr_ec = "LMQH"[rest[0] - 48]
            elif fn == 80:
                self.qr_store = rest[1:].decode("utf-8", errors="replace")
            elif fn == 81:
                self.flush()
                self.doc.items.append(
                    QrCode(self.qr_store, True, self.style.align, self.qr_size, self.qr_ec)
                )
        elif kind == "L" and len(body) >= 2:
            fn = body[1]
            if fn == ord("p"):
                width = body[7] + 256 * body[8]
                height = body[9] + 256 * body[10]
                self.graphics = bytes(body[11:])
                self.graphics_size = (width, height)
            elif fn == ord("2") and self.graphics:
                width, height = self.graphics_size
                self.raster((width + 7) // 8 * 8, height, self.graphics)
                self.graphics = b""
        # other GS ( functions (E, A, ...) only set printer options; nothing shows on paper

    def raster(self, width: int, height: int, bits: bytes) -> None:
        self.flush()
        raster = Raster(width, height, bits, self.style.align)
        payload = _read_qr(raster) if self.decode_images else None
        if payload is not None:
            self.doc.items.append(QrCode(payload, False, self.style.align))
        self.doc.items.append(raster)

    def dle(self, start: int) -> None:
        cmd = self.byte()
        if cmd == 0x04:
            self.doc.status_queries.append(self.byte())
        elif cmd == 0x14:
            self.take(3)
        else:
            raise DecodeError(start, f"unknown command DLE 0x{cmd:02x}")

    def fs(self, start: int) -> None:
        cmd = self.byte()
        if cmd in (ord("."), ord("&")):
            return
        raise DecodeError(start, f"unknown command FS 0x{cmd:02x}")


def _read_qr(raster: Raster) -> str | None:
    """The payload of a QR code printed as an image, when zxing-cpp is installed."""
    try:
        import zxingcpp
    except ImportError:
        return None
    from PIL import ImageOps

    image = ImageOps.expand(raster.to_image().convert("L"), border=16, fill=255)
    found = [r.text for r in zxingcpp.read_barcodes(image) if "QR" in str(r.format)]
    return found[0] if found else None
