"""QR images of an appointment code, made with the qrcode package."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(text: str) -> qrcode.QRCode:  # type: ignore[type-arg]
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return qr


def qr_png(text: str, box_size: int = 8) -> bytes:
    qr = _code(text)
    qr.box_size = box_size
    out = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(out, format="PNG")
    return out.getvalue()


def qr_svg(text: str) -> bytes:
    image = _code(text).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string(encoding="unicode").encode("utf-8")  # type: ignore[no-any-return]
