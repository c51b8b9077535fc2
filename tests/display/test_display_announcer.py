"""The announcer: chime then voices, calls in arrival order, phrases cached as WAV files."""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

import pytest

from display.announcer import (
    Announcer,
    AnnouncerError,
    KivyPlayer,
    RecordingPlayer,
    Synthesizer,
    wav_seconds,
)
from display.board import Announcement
from display.chime import ensure_chime


@pytest.fixture
def synth(tmp_path: Path) -> Synthesizer:
    return Synthesizer(tmp_path / "cache")


def a(number: str, desk: str = "3", recall: bool = False) -> Announcement:
    return Announcement(number, desk, f"Mostrador {desk}", recall)


def test_chime_is_a_short_valid_wav(tmp_path: Path) -> None:
    path = ensure_chime(tmp_path)
    with wave.open(str(path)) as clip:
        assert (clip.getnchannels(), clip.getsampwidth()) == (1, 2)
    assert 0.8 < wav_seconds(path) < 1.5
    stamp = path.stat().st_mtime_ns
    assert ensure_chime(tmp_path) == path and path.stat().st_mtime_ns == stamp


def test_espeak_renders_once_then_uses_the_cache(synth: Synthesizer) -> None:
    first = synth.render("es", a("A017"))
    again = synth.render("es", a("A017"))
    english = synth.render("en", a("A017"))
    assert first == again and first != english
    assert synth.rendered == 2
    assert 1.0 < wav_seconds(first) < 6.0
    assert first.parent == synth.cache_dir and not list(synth.cache_dir.glob("*.tmp"))


def test_missing_espeak_is_a_coded_error(tmp_path: Path) -> None:
    synth = Synthesizer(tmp_path, espeak="no-such-espeak")
    assert not synth.available()
    with pytest.raises(AnnouncerError) as caught:
        synth.render("es", a("A001"))
    assert caught.value.code == "tts_missing"


def test_calls_are_announced_in_order_chime_first(tmp_path: Path, synth: Synthesizer) -> None:
    chime = ensure_chime(tmp_path)
    player = RecordingPlayer()
    announcer = Announcer(player, synth, ["es", "en"], chime=chime, volume=0.6).start()
    try:
        for item in (a("A001"), a("B002", desk="1"), a("A001", recall=True), a("C003", desk="2")):
            announcer.announce(item)
        assert announcer.wait_idle(20)
    finally:
        announcer.stop()
    texts = [spoken.texts for spoken in announcer.history]
    assert texts == [
        ("Número A 1, mostrador 3", "Ticket A 1, desk 3"),
        ("Número B 2, mostrador 1", "Ticket B 2, desk 1"),
        ("Número A 1, mostrador 3", "Ticket A 1, desk 3"),
        ("Número C 3, mostrador 2", "Ticket C 3, desk 2"),
    ]
    played = [path for path, _ in player.played]
    assert played[0::3] == [chime] * 4
    assert played[1] == synth.path_for(
        "es", '<speak>Número <say-as interpret-as="characters">A</say-as> 1, mostrador 3</speak>'
    )
    assert played[1] == played[7] and played[2] == played[8]  # the recall reuses the cached WAVs
    assert {volume for _, volume in player.played} == {0.6}
    assert announcer.errors == type(announcer.errors)()


def test_a_call_waits_for_the_one_being_spoken(tmp_path: Path) -> None:
    # time_scale makes each clip "last" a real fraction of its length
    player = RecordingPlayer(time_scale=0.05)
    chime = ensure_chime(tmp_path)
    announcer = Announcer(player, None, ["es"], chime=chime, gap_s=0.0).start()
    try:
        announcer.announce(a("A001"))
        announcer.announce(a("A002"))
        time.sleep(0.02)
        assert len(player.played) == 1 and announcer.pending == 1
        assert announcer.wait_idle(5)
        assert [s.announcement.number for s in announcer.history] == ["A001", "A002"]
    finally:
        announcer.stop()


def test_without_a_voice_the_chime_still_plays(tmp_path: Path) -> None:
    player = RecordingPlayer()
    chime = ensure_chime(tmp_path)
    announcer = Announcer(
        player, Synthesizer(tmp_path, espeak="no-such-espeak"), ["es"], chime=chime
    ).start()
    try:
        announcer.announce(a("A001"))
        assert announcer.wait_idle(5)
    finally:
        announcer.stop()
    assert [p for p, _ in player.played] == [chime]
    assert list(announcer.errors) == ["tts_missing"]


def test_a_flood_is_capped(tmp_path: Path) -> None:
    player = RecordingPlayer(time_scale=1.0)
    announcer = Announcer(player, None, [], chime=ensure_chime(tmp_path), max_pending=3)
    for n in range(10):  # not started: nothing is taken off the queue
        announcer.announce(a(f"A{n:03d}"))
    assert announcer.pending == 3 and announcer.dropped == 7


def test_unknown_language_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xx"):
        Announcer(RecordingPlayer(), None, ["es", "xx"])


def test_kivy_audio_plays_the_chime_and_a_phrase(tmp_path: Path, synth: Synthesizer) -> None:
    # No sound card here: SDL's dummy driver (set in conftest) loads and "plays" silently.
    assert os.environ["SDL_AUDIODRIVER"] == "dummy"
    chime = ensure_chime(tmp_path)
    player = KivyPlayer(keep_loaded=(chime,))
    length = player.play(chime, 0.5)
    assert length == pytest.approx(wav_seconds(chime), abs=0.05)
    phrase = synth.render("es", a("A017"))
    assert player.play(phrase, 0.5) == pytest.approx(wav_seconds(phrase), abs=0.05)
    assert str(chime) in player._loaded and str(phrase) not in player._loaded


def test_the_phrase_cache_keeps_the_most_recently_used(tmp_path: Path) -> None:
    synth = Synthesizer(tmp_path, max_cache_files=2)
    chime = ensure_chime(tmp_path)
    paths = [synth.render("es", a(f"A00{n}")) for n in (1, 2, 3)]
    os.utime(paths[0], (1, 1))  # A001 used long ago
    assert synth.prune() == 1
    assert not paths[0].exists() and paths[1].exists() and paths[2].exists() and chime.exists()
