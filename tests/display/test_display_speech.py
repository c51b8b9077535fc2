"""Announcement text per language, and the on-screen headings."""

from __future__ import annotations

import subprocess

import pytest

from display import speech

PHRASES = [
    ("es", "A017", "3", "Mostrador 3", "Número A 17, mostrador 3"),
    ("en", "A017", "3", "Mostrador 3", "Ticket A 17, desk 3"),
    ("ca", "B005", "2", "", "Número B 5, taulell 2"),
    ("fr", "C120", "1", "", "Numéro C 120, guichet 1"),
    ("pt", "A001", "4", "", "Senha A 1, balcão 4"),
    ("de", "A017", "3", "", "Nummer A 17, Schalter 3"),
    ("it", "A017", "3", "", "Numero A 17, sportello 3"),
    ("es", "AB1000", "07", "", "Número A B 1000, mostrador 7"),
    ("es", "A017", "info", "Información", "Número A 17, Información"),
    ("en", "A017", "info", "", "Ticket A 17, info"),
    ("es_ES", "A017", "3", "", "Número A 17, mostrador 3"),
]


@pytest.mark.parametrize(("lang", "number", "desk", "desk_name", "expected"), PHRASES)
def test_phrase_per_language(
    lang: str, number: str, desk: str, desk_name: str, expected: str
) -> None:
    assert speech.phrase(lang, number, desk, desk_name) == expected


def test_ssml_spells_the_letters_and_escapes_names() -> None:
    text = speech.ssml("en", "A017", "x", "Desk <A&B>")
    spelled = '<say-as interpret-as="characters">A</say-as>'
    assert text == f"<speak>Ticket {spelled} 17, Desk &lt;A&amp;B&gt;</speak>"


def test_every_language_has_a_voice_that_espeak_knows() -> None:
    voices = subprocess.run(
        ["espeak-ng", "--voices"], capture_output=True, text=True, check=True
    ).stdout
    known = {line.split()[1] for line in voices.splitlines()[1:] if line.split()}
    assert set(speech.VOICES) == set(speech.PHRASE_WORDS)
    assert {speech.VOICES[lang] for lang in speech.SUPPORTED} <= known


def test_unsupported_language_is_a_clear_error() -> None:
    with pytest.raises(speech.UnsupportedLanguage) as caught:
        speech.check_languages(["es", "xx", "zz"])
    assert caught.value.code == "unsupported_language"
    assert "xx, zz" in str(caught.value) and "supported: es, en" in str(caught.value)
    with pytest.raises(speech.UnsupportedLanguage):
        speech.phrase("xx", "A001", "1")


@pytest.mark.parametrize(
    ("key", "langs", "expected"),
    [
        ("last_calls", ["es", "en"], "Últimas llamadas · Last calls"),
        ("reconnecting", ["en"], "Reconnecting…"),
        ("calling", ["es", "it"], "Turno"),  # the same word is written once
        ("waiting", [], "en espera"),
    ],
)
def test_headings(key: str, langs: list[str], expected: str) -> None:
    assert speech.heading(key, langs) == expected


def test_every_heading_exists_in_every_language() -> None:
    for texts in speech.HEADINGS.values():
        assert set(texts) == set(speech.SUPPORTED)


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, ""), (0, "~1 min"), (59, "~1 min"), (725, "~12 min")]
)
def test_wait_text(seconds: int | None, text: str) -> None:
    assert speech.wait_text(seconds) == text
