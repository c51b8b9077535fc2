"""The QR code of a ticket's status link as pixels (pure) and as a Kivy texture.

One pixel per module, drawn with nearest-neighbour scaling: sharp at any size and a few KB.
"""

from __future__ import annotations

from typing import Any


def qr_modules(text: str, border: int = 4) -> list[list[bool]]:
    """The QR modules for `text` (True = dark), quiet zone included."""
    import qrcode

    qr = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return [[bool(cell) for cell in row] for row in qr.get_matrix()]


def qr_rgba(text: str, border: int = 4) -> tuple[int, bytes]:
    """(side, RGBA bytes), rows top to bottom; dark modules black, light ones white."""
    modules = qr_modules(text, border)
    dark, light = b"\x00\x00\x00\xff", b"\xff\xff\xff\xff"
    data = b"".join(b"".join(dark if cell else light for cell in row) for row in modules)
    return len(modules), data


def qr_texture(text: str) -> Any:
    from kivy.graphics.texture import Texture

    side, data = qr_rgba(text)
    texture = Texture.create(size=(side, side), colorfmt="rgba")
    texture.blit_buffer(data, colorfmt="rgba", bufferfmt="ubyte")
    texture.flip_vertical()  # Kivy's rows run bottom to top
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    return texture
