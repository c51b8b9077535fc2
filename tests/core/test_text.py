"""Free text citizens type: what may hide or reorder what staff read is refused."""

from __future__ import annotations

import pytest

from office360.core.text import unsafe_characters


@pytest.mark.parametrize(
    "text",
    ["Ana\x00", "Ana\tLópez", "\u202eadiM", "Ana\u2066x\u2069", "\u200fAna", "Ana\ud800", "\u061c"],
)
def test_control_bidi_and_surrogate_characters_are_unsafe(text: str) -> None:
    assert unsafe_characters(text)


@pytest.mark.parametrize(
    "text", ["José Núñez", "Zoë O'Brien", "محمد علي", "王小明", "Ana-María d'Souza", ""]
)
def test_names_in_any_script_are_safe(text: str) -> None:
    assert not unsafe_characters(text)
