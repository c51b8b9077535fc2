"""A PNG image of what a printer would put on paper, drawn from the ESC/POS bytes themselves.

The preview printer (`preview:///FOLDER`) renders every ticket with the same python-escpos bytes a
real printer gets, decodes them (printer.decode) and draws the result, so accents, sizes, the QR
and the cut are shown as printed. `python -m printer.preview DIR` writes the docs' sample tickets.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from .connections import PrinterAddress
from .decode import CutMark, Document, Line, QrCode, Raster, decode
from .errors import PrinterError
from .escpos_backend import TicketPrinter
from .layout import CHAR_DOTS, TicketData
from .status import PrinterStatus

FOOTERS = {
    "es": "Conserve este tique. ¡Le llamaremos por la pantalla!",
    "en": "Keep this ticket. You will be called on the screen.",
}

CELL_HEIGHT = 24
LINE_DOTS = 30
MARGIN = 16
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


def _font(bold: bool, size: int) -> Any:
    from PIL import ImageFont

    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size)


def render_png(document: Document, *, dots: int) -> Any:
    """Draw a decoded job on a paper-white image `dots` wide (plus a margin)."""
    from PIL import Image, ImageDraw

    blocks: list[tuple[Any, str]] = []
    for item in document.items:
        if isinstance(item, Line):
            blocks.append((_line_image(item), item.align))
        elif isinstance(item, QrCode) and item.native:
            blocks.append((_qr_image(item), item.align))
        elif isinstance(item, Raster):
            blocks.append((item.to_image().convert("L"), item.align))
        elif isinstance(item, CutMark):
            blocks.append((None, "cut"))
    height = sum(CELL_HEIGHT if image is None else image.height for image, _ in blocks)
    page = Image.new("L", (dots + 2 * MARGIN, height + 2 * MARGIN), 255)
    draw = ImageDraw.Draw(page)
    y = MARGIN
    for image, align in blocks:
        if image is None:
            for x in range(0, page.width, 12):
                draw.line([(x, y + CELL_HEIGHT // 2), (x + 6, y + CELL_HEIGHT // 2)], fill=128)
            y += CELL_HEIGHT
            continue
        free = max(0, dots - image.width)
        x = MARGIN + {"left": 0, "center": free // 2, "right": free}.get(align, 0)
        page.paste(image, (x, y))
        y += image.height
    draw.rectangle([(0, 0), (page.width - 1, page.height - 1)], outline=200)
    return page


def _line_image(line: Line) -> Any:
    from PIL import Image, ImageDraw

    tallest = max((r.style.height for r in line.runs), default=1)
    height = max(LINE_DOTS, CELL_HEIGHT * tallest) + line.feed_dots
    image = Image.new("L", (max(1, line.cells * CHAR_DOTS), height), 255)
    x = 0
    for run in line.runs:
        if not run.text:
            continue
        w, h = run.style.width, run.style.height
        # draw at full height, then stretch sideways as the printer's width multiplier does
        size = int(CELL_HEIGHT * h * 0.85)
        cell = Image.new("L", (len(run.text) * CHAR_DOTS * h, CELL_HEIGHT * h), 255)
        pen = ImageDraw.Draw(cell)
        font = _font(run.style.bold, size)
        for i, char in enumerate(run.text):
            pen.text((i * CHAR_DOTS * h + h, h), char, font=font, fill=0)
        cell = cell.resize((len(run.text) * CHAR_DOTS * w, CELL_HEIGHT * h))
        if run.style.invert:
            from PIL import ImageOps

            cell = ImageOps.invert(cell)
        if run.style.underline:
            ImageDraw.Draw(cell).line(
                [(0, cell.height - 2), (cell.width, cell.height - 2)],
                fill=0,
                width=run.style.underline,
            )
        image.paste(cell, (x, height - line.feed_dots - cell.height))
        x += cell.width
    return image


def _qr_image(qr: QrCode) -> Any:
    import qrcode

    levels = {"L": 1, "M": 0, "Q": 3, "H": 2}
    code = qrcode.QRCode(border=2, box_size=qr.module_dots, error_correction=levels[qr.ec])
    code.add_data(qr.payload)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


class PreviewPrinter(TicketPrinter):
    """Writes each ticket as `ticket-NUMBER-YYYYmmdd-HHMMSS.png` into a folder."""

    def __init__(self, address: PrinterAddress, **kwargs: Any) -> None:
        super().__init__(address, **kwargs)
        self.folder = Path(address.path)
        self.last_path: Path | None = None

    @property
    def can_read_status(self) -> bool:
        return True

    def status(self) -> PrinterStatus:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return PrinterStatus.error
        return PrinterStatus.ok if os.access(self.folder, os.W_OK) else PrinterStatus.error

    def image(self, ticket: TicketData) -> Any:
        document = decode(self.render(ticket), profile=self.profile_name)
        return render_png(document, dots=self.geometry.dots)

    def print_ticket(self, ticket: TicketData) -> None:
        data = self.render(ticket)
        image = render_png(decode(data, profile=self.profile_name), dots=self.geometry.dots)
        stamp = ticket.issued_at.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c for c in ticket.number if c.isalnum()) or "ticket"
        target = self.folder / f"ticket-{safe}-{stamp}.png"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".part", delete=False) as tmp:
                image.save(tmp, format="PNG", optimize=True)
            os.replace(tmp.name, target)
        except OSError as exc:
            raise PrinterError("printer_write_failed", f"{target}: {exc.strerror or exc}") from None
        self.last_path = target
        self.last_job_bytes = len(data)


def sample_ticket(
    lang: str = "es", *, number: str = "A017", office: str = "Oficina 360 Centro"
) -> TicketData:
    """The ticket shown in the docs and printed by `office360 printer test`."""
    from zoneinfo import ZoneInfo

    services = {"es": "Información general", "en": "General information"}
    return TicketData(
        office_name=office,
        number=number,
        service_name=services.get(lang, services["en"]),
        lang=lang,
        issued_at=datetime(2026, 3, 9, 9, 41, tzinfo=ZoneInfo("Europe/Madrid")),
        position=4,
        estimated_wait_s=720,
        priority="reduced_mobility",
        status_url="http://192.168.1.10:8360/status/17?t=Zq3kL9xW2pVn",
        footer=None,
    )


def main(argv: list[str] | None = None) -> int:
    """Write the sample ticket as ticket-80mm.png and ticket-58mm.png into a folder."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else "docs/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    for paper, profile in ((80, "TM-T88V"), (58, "POS-5890")):
        address = PrinterAddress("preview", path=str(folder))
        printer = PreviewPrinter(address, profile=profile, paper_width_mm=paper, footers=FOOTERS)
        path = folder / f"ticket-{paper}mm.png"
        printer.image(sample_ticket("es")).save(path, optimize=True)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
