"""The call chime: a two-note 'ding-dong' written with the wave module, no audio file shipped."""

from __future__ import annotations

import math
from pathlib import Path

from office360.wav import write_wav

RATE = 22_050
NOTES_HZ = (659.25, 523.25)  # E5 then C5
NOTE_S = 0.55
CHIME_NAME = "chime_v1.wav"  # no dash: phrase files are LANG-KEY.wav


def chime_samples(rate: int = RATE) -> list[int]:
    samples: list[int] = []
    count = int(NOTE_S * rate)
    for freq in NOTES_HZ:
        for i in range(count):
            t = i / rate
            envelope = math.exp(-4.5 * t) * min(1.0, i / (0.005 * rate))
            tone = math.sin(2 * math.pi * freq * t) + 0.35 * math.sin(4 * math.pi * freq * t)
            samples.append(int(max(-1.0, min(1.0, 0.55 * envelope * tone)) * 32767))
    return samples


def write_chime(path: Path, rate: int = RATE) -> Path:
    return write_wav(path, chime_samples(rate), rate)


def ensure_chime(cache_dir: Path) -> Path:
    path = cache_dir / CHIME_NAME
    if not path.exists():
        write_chime(path)
    return path
