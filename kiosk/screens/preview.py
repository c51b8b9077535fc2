"""The camera picture for the scan screen, with a target frame where the code should go."""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.uix.widget import Widget


class CameraPreview(Widget):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._texture: Texture | None = None
        self._shape: tuple[int, ...] = ()
        with self.canvas:
            Color(0.1, 0.1, 0.1, 1)
            self._backdrop = Rectangle(pos=self.pos, size=self.size)
            Color(1, 1, 1, 1)  # the picture in its own colours
            self._frame_rect = Rectangle(pos=self.pos, size=self.size)
            self._target_colour = Color(1, 0.82, 0.12, 1)
            self._target = Line(rectangle=(0, 0, 1, 1), width=4)
        self.bind(pos=self._layout, size=self._layout)

    def set_accent(self, rgba: tuple[float, float, float, float]) -> None:
        self._target_colour.rgba = rgba

    def show(self, frame: Any) -> None:
        """Draw a BGR or grey uint8 frame (numpy); called on the UI thread."""
        if frame is None:
            return
        colorfmt = "luminance" if frame.ndim == 2 else "bgr"
        if frame.shape != self._shape or self._texture is None:
            height, width = frame.shape[:2]
            self._texture = Texture.create(size=(width, height), colorfmt=colorfmt)
            self._texture.flip_vertical()
            self._shape = frame.shape
            self._frame_rect.texture = self._texture
            self._layout()
        self._texture.blit_buffer(frame.tobytes(), colorfmt=colorfmt, bufferfmt="ubyte")
        self.canvas.ask_update()

    def _layout(self, *_args: Any) -> None:
        width, height = self.size
        aspect = 4 / 3
        if self._shape:
            aspect = self._shape[1] / self._shape[0]
        shown_w, shown_h = min(width, height * aspect), min(height, width / aspect)
        left, bottom = self.x + (width - shown_w) / 2, self.y + (height - shown_h) / 2
        self._backdrop.pos, self._backdrop.size = (left, bottom), (shown_w, shown_h)
        self._frame_rect.pos = (left, bottom)
        self._frame_rect.size = (shown_w, shown_h)
        side = 0.62 * min(shown_w, shown_h)
        self._target.rectangle = (
            left + (shown_w - side) / 2,
            bottom + (shown_h - side) / 2,
            side,
            side,
        )
