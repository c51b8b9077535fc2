"""Checks on free text citizens type (names, contacts), shared by the API and the file import."""

from __future__ import annotations

import unicodedata

_BIDI_CONTROLS = frozenset(
    map(chr, (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))
)


def unsafe_characters(text: str) -> bool:
    """Whether text holds control characters (Unicode Cc, tabs and newlines too), lone
    surrogates (Cs: not storable as UTF-8) or bidi marks, embeddings, overrides or isolates,
    which could hide or reorder what staff read."""
    return any(ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs") for ch in text)
