"""Kivy runs offscreen here: no X server, no sound card. Set before anything imports kivy."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="office360-kivy-"))
os.environ["KIVY_NO_ARGS"] = "1"
os.environ["KIVY_NO_CONSOLELOG"] = "1"
os.environ["SDL_AUDIODRIVER"] = "dummy"
