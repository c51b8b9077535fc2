"""Checks on free text citizens type (names, contacts), shared by the API and the file import."""

from __future__ import annotations

import unicodedata

_BIDI_CONTROLS = frozenset(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A))))


def unsafe_characters(text: str) -> bool:
    """Whether text holds control characters (Unicode Cc, tabs and newlines too) or bidi
    embeddings, overrides or isolates, which could hide or reorder what staff read."""
    return any(ch in _BIDI_CONTROLS or unicodedata.category(ch) == "Cc" for ch in text)
