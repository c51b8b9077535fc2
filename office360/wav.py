"""Writing short generated sounds (the display's chime, the kiosk's beep) as 16-bit mono WAV."""

from __future__ import annotations

import os
import struct
import wave
from collections.abc import Sequence
from pathlib import Path


def write_wav(path: Path, samples: Sequence[int], rate: int) -> Path:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    os.replace(tmp, path)
    return path
