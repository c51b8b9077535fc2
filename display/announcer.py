"""Announcements: a chime, then the phrase in each configured language, one call after another.

One worker thread takes calls in arrival order, renders each phrase with espeak-ng into a
cached WAV file (once per phrase, ever), and plays the clips through a `Player`, waiting for
each clip's length before the next. `KivyPlayer` plays through Kivy's audio; `RecordingPlayer`
is the fake for tests and for machines with no voice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import shutil
import subprocess
import threading
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import speech
from .board import Announcement

log = logging.getLogger(__name__)
CACHE_VERSION = "1"


class AnnouncerError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Synthesizer:
    """espeak-ng into WAV files under cache_dir, keyed by voice, speed and text."""

    def __init__(
        self,
        cache_dir: Path,
        espeak: str = "espeak-ng",
        speed_wpm: int = 140,
        timeout_s: float = 15,
        max_cache_files: int = 3000,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.espeak = espeak
        self.speed_wpm = speed_wpm
        self.timeout_s = timeout_s
        # ~0.1 MB a phrase: 3000 phrases (numbers x desks x languages) stay under 300 MB
        self.max_cache_files = max_cache_files
        self.rendered = 0  # how many phrases were not in the cache

    def available(self) -> bool:
        return shutil.which(self.espeak) is not None

    def path_for(self, lang: str, text: str) -> Path:
        voice = speech.VOICES.get(lang.split("_")[0], lang)
        key = hashlib.sha256(
            f"{CACHE_VERSION}|{voice}|{self.speed_wpm}|{text}".encode()
        ).hexdigest()
        return self.cache_dir / f"{lang}-{key[:20]}.wav"

    def render(self, lang: str, announcement: Announcement) -> Path:
        text = speech.ssml(lang, announcement.number, announcement.desk, announcement.desk_name)
        path = self.path_for(lang, text)
        if path.exists() and path.stat().st_size > 44:
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: pruned last
            return path
        program = shutil.which(self.espeak)
        if program is None:
            raise AnnouncerError(
                "tts_missing", f"{self.espeak} is not installed (Debian: espeak-ng)"
            )
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        voice = speech.VOICES.get(lang.split("_")[0], lang)
        command = [program, "-v", voice, "-s", str(self.speed_wpm), "-m", "-w", str(tmp), text]
        try:
            done = subprocess.run(command, capture_output=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AnnouncerError(
                "tts_timeout", f"{self.espeak} took over {self.timeout_s} s"
            ) from exc
        if done.returncode != 0 or not tmp.exists():
            tmp.unlink(missing_ok=True)
            detail = done.stderr.decode(errors="replace").strip()[:200]
            raise AnnouncerError(
                "tts_failed", f"{self.espeak} -v {voice}: {detail or done.returncode}"
            )
        os.replace(tmp, path)
        self.rendered += 1
        if self.rendered % 100 == 0:
            self.prune()
        return path

    def prune(self) -> int:
        """Delete the least recently used phrases beyond max_cache_files; return how many."""
        phrases = sorted(self.cache_dir.glob("*-*.wav"), key=_mtime)
        extra = phrases[: max(0, len(phrases) - self.max_cache_files)]
        for path in extra:
            path.unlink(missing_ok=True)
        return len(extra)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as clip:
        return clip.getnframes() / float(clip.getframerate())


class Player(Protocol):
    def play(self, clip: Path, volume: float) -> float:
        """Start playing `clip`; return its length in seconds."""
        ...


class RecordingPlayer:
    """Plays nothing; records what it was given. time_scale 0 makes a queue run instantly."""

    def __init__(self, time_scale: float = 0.0) -> None:
        self.time_scale = time_scale
        self.played: list[tuple[Path, float]] = []
        self._lock = threading.Lock()

    def play(self, clip: Path, volume: float) -> float:
        with self._lock:
            self.played.append((clip, volume))
        return wav_seconds(clip) * self.time_scale


class KivyPlayer:
    """Kivy's SoundLoader (SDL2 audio). Keeps the chime loaded; unloads each phrase after use."""

    def __init__(self, keep_loaded: tuple[Path, ...] = ()) -> None:
        self._keep = {str(p) for p in keep_loaded}
        self._loaded: dict[str, Any] = {}
        self._last: Any = None
        self._last_path = ""

    def play(self, clip: Path, volume: float) -> float:
        from kivy.core.audio import SoundLoader

        self._release_last()
        key = str(clip)
        sound = self._loaded.get(key) or SoundLoader.load(key)
        if sound is None:
            raise AnnouncerError("audio_unplayable", f"Kivy cannot play {clip}")
        if key in self._keep:
            self._loaded[key] = sound
        sound.volume = volume
        sound.play()
        self._last, self._last_path = sound, key
        return float(sound.length or wav_seconds(clip))

    def _release_last(self) -> None:
        if self._last is None:
            return
        with contextlib.suppress(Exception):
            self._last.stop()
            if self._last_path not in self._keep:
                self._last.unload()
        self._last = None


@dataclass(frozen=True)
class Spoken:
    announcement: Announcement
    texts: tuple[str, ...]
    clips: tuple[Path, ...]


class Announcer:
    def __init__(
        self,
        player: Player,
        synthesizer: Synthesizer | None,
        languages: list[str] | tuple[str, ...],
        *,
        chime: Path | None = None,
        volume: float = 0.8,
        gap_s: float = 0.3,
        max_pending: int = 30,
        on_spoken: Callable[[Spoken], None] | None = None,
    ) -> None:
        speech.check_languages(languages)
        self.player = player
        self.synthesizer = synthesizer
        self.languages = tuple(languages)
        self.chime = chime
        self.volume = volume
        self.gap_s = gap_s
        self.max_pending = max_pending
        self.on_spoken = on_spoken
        self.history: deque[Spoken] = deque(maxlen=200)
        self.errors: deque[str] = deque(maxlen=50)
        self.dropped = 0
        self._queue: queue.Queue[Announcement | None] = queue.Queue()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._unfinished = 0
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> Announcer:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="office360-announcer", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def announce(self, announcement: Announcement) -> None:
        if self._queue.qsize() >= self.max_pending:
            # a flood (e.g. a desk clicking `next` over and over): the board shows them all anyway
            self.dropped += 1
            return
        with self._count_lock:
            self._unfinished += 1
            self._idle.clear()
        self._queue.put(announcement)

    def wait_idle(self, timeout_s: float = 10) -> bool:
        return self._idle.wait(timeout_s)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None or self._stop.is_set():
                break
            try:
                self._speak(item)
            except Exception as exc:  # the board must go on even if audio fails
                self.errors.append(f"{type(exc).__name__}: {exc}")
                log.exception("announcement of %s failed", item.number)
            with self._count_lock:
                self._unfinished -= 1
                if self._unfinished == 0:
                    self._idle.set()
        self._idle.set()

    def _speak(self, item: Announcement) -> None:
        clips: list[Path] = [self.chime] if self.chime else []
        texts: list[str] = []
        for lang in self.languages:
            texts.append(speech.phrase(lang, item.number, item.desk, item.desk_name))
            if self.synthesizer is None:
                continue
            try:
                clips.append(self.synthesizer.render(lang, item))
            except AnnouncerError as exc:
                self.errors.append(exc.code)
                log.warning("no voice for %s in %s: %s", item.number, lang, exc)
        spoken = Spoken(item, tuple(texts), tuple(clips))
        self.history.append(spoken)
        if self.on_spoken is not None:
            self.on_spoken(spoken)
        for clip in clips:
            length = self.player.play(clip, self.volume)
            if self._stop.wait(length + (self.gap_s if length else 0)):
                return
