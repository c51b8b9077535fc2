"""The short beep played when a code is read: written with the wave module, no file shipped."""

from __future__ import annotations

import math
from pathlib import Path

from office360.wav import write_wav

RATE = 22_050
FREQ_HZ = 1_760.0
LENGTH_S = 0.12
BEEP_NAME = "beep_v1.wav"


def beep_samples(rate: int = RATE) -> list[int]:
    count = int(LENGTH_S * rate)
    ramp = int(0.005 * rate)  # 5 ms fades: no click at either end
    samples = []
    for i in range(count):
        envelope = min(1.0, i / ramp, (count - 1 - i) / ramp)
        samples.append(int(0.6 * envelope * math.sin(2 * math.pi * FREQ_HZ * i / rate) * 32767))
    return samples


def write_beep(path: Path, rate: int = RATE) -> Path:
    return write_wav(path, beep_samples(rate), rate)


def ensure_beep(cache_dir: Path) -> Path:
    path = cache_dir / BEEP_NAME
    if not path.exists():
        write_beep(path)
    return path
