"""Packed office-days (`DayCells`) as the hub keeps them: stored and read back unchanged, and
anything else refused with a coded error."""

from __future__ import annotations

import pytest

from office360.core.errors import Invalid
from office360.core.kpi import (
    collect_days,
    compute_kpis,
    compute_kpis_from_days,
    pack_days,
    ticket_facts,
    unpack_days,
)

from .scenario import scenario


def test_stored_days_read_back_equal_and_give_the_same_report() -> None:
    days = collect_days(ticket_facts(scenario()))
    text, blob = pack_days(days)
    again = unpack_days(text, blob)
    assert again == days
    assert [d.ordinal for d in again] == [d.ordinal for d in days]
    assert compute_kpis_from_days(again) == compute_kpis(scenario())
    assert "centro" in text and len(blob) % 8 == 0  # doubles after JSON keys and counts


@pytest.mark.parametrize(
    ("text", "blob"),
    [
        ("not json", b""),
        ('{"combos": [], "days": []}', b""),  # other channels or statuses
        ("[1, 2]", b""),
        ("KEEP", b"\x00" * 8),  # a value too many
        ("KEEP", b"\x00" * 7),  # values cut short
        ("SIZES", b""),  # sizes that do not match the values
    ],
)
def test_anything_else_is_refused_with_a_code(text: str, blob: bytes) -> None:
    good_text, good_blob = pack_days(collect_days(ticket_facts(scenario())))
    if text == "KEEP":
        text, blob = good_text, good_blob + blob if len(blob) == 8 else good_blob[:-1]
    elif text == "SIZES":
        text, blob = good_text.replace('"sizes":[', '"sizes":[9', 1), good_blob
    with pytest.raises(Invalid) as error:
        unpack_days(text, blob)
    assert error.value.code == "kpi_day_cells_invalid"
