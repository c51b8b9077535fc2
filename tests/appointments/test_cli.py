"""`office360 keys ...` and `office360 appointments import FILE` on real files and databases."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.db import migrate
from hub.keys import read_ring
from office360.cli import main
from office360.qrtoken import parse_public_keys
from tests.hubtools import database_url_for, free_port, write_config

GOOD_CSV = """id;office;service;date;time;name;email;mode
ext-1;centro;general;01/06/2027;10:00;Ana García;ana@example.org;presencial
ext-2;centro;taxes;01/06/2027;10:15;B. L.;;video
"""

BAD_CSV = """id,service,start,name,email
r1,general,2027-06-01T10:00:00+02:00,Ana,ana@example.org
r2,nope,2027-06-01T10:00:00+02:00,Bea,
r3,general,2027-06-01T10:15:00+02:00,Carla,carla@example.org
r4,general,yesterday,Dora,
r5,general,2027-06-01T10:30:00+02:00,,
"""

BAD_ICS = """BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:a1
DTSTART;TZID=Europe/Madrid:20270601T100000
X-OFFICE360-SERVICE:general
SUMMARY:Ana
END:VEVENT
BEGIN:VEVENT
UID:a2
DTSTART;VALUE=DATE:20270601
X-OFFICE360-SERVICE:general
SUMMARY:Bea
END:VEVENT
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, free_port())


def _count(config: Path, table: str = "appointments") -> int:
    migrate(database_url_for(config))  # a refused import may never have opened the database
    engine = create_engine(database_url_for(config))
    with engine.connect() as conn:
        count = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return count


def test_keys_create_rotate_and_show_public(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = config.parent / "data" / "appointment-keys.txt"
    assert main(["keys", "create", "--config", str(config), "--kid", "k1"]) == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert "public_keys = [" in out and '"k1:' in out
    assert "private" not in out

    assert main(["keys", "create", "--config", str(config)]) == 1
    assert "keys_exist" in capsys.readouterr().err
    assert read_ring(key_file).signing.kid == "k1"

    assert main(["keys", "rotate", "--config", str(config), "--kid", "k2"]) == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ring = read_ring(key_file)
    assert ring.signing.kid == "k2" and [kid for kid, _ in ring.retired] == ["k1"]
    capsys.readouterr()
    assert main(["keys", "show-public", "--config", str(config)]) == 0
    lines = [
        line.strip().strip('",')
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  ")
    ]
    assert set(parse_public_keys(lines)) == {"k1", "k2"}

    # keep_retired_keys = 1 by default: a second rotation drops k1
    assert main(["keys", "rotate", "--config", str(config), "--kid", "k3"]) == 0
    assert [kid for kid, _ in read_ring(key_file).retired] == ["k2"]


def test_show_public_without_keys_says_what_to_do(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "show-public", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "office360 keys create" in err and "keys_missing" in err


def test_import_csv_stores_every_row(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "citas.csv"
    source.write_text(GOOD_CSV, encoding="utf-8")
    assert main(["appointments", "import", str(source), "--config", str(config)]) == 0
    assert "2 appointment(s) imported" in capsys.readouterr().out
    assert _count(config) == 2
    engine = create_engine(database_url_for(config))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT service_id, slot_at, video, video_room, status FROM appointments "
                "ORDER BY slot_at"
            )
        ).all()
        places = conn.execute(text("SELECT sum(booked) FROM appointment_slots")).scalar_one()
    engine.dispose()
    assert [(r.service_id, str(r.slot_at)[:16], bool(r.video), r.status) for r in rows] == [
        ("general", "2027-06-01 08:00", False, "booked"),
        ("taxes", "2027-06-01 08:15", True, "booked"),
    ]
    assert rows[1].video_room and places == 2

    # the same file again: every row is already here, each named by its line; nothing changes
    assert main(["appointments", "import", str(source), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "line 2:" in err and "line 3:" in err and "id_already_imported" in err
    assert _count(config) == 2


def test_import_refuses_a_bad_csv_whole_naming_each_bad_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(BAD_CSV, encoding="utf-8")
    assert main(["appointments", "import", str(source), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err
    problem_lines = [line.strip() for line in err.splitlines() if line.startswith("  line")]
    assert [line.split(":")[0] for line in problem_lines] == ["line 3", "line 5", "line 6"]
    assert "service_unknown" in problem_lines[0]
    assert "start_invalid" in problem_lines[1]
    assert "name_missing" in problem_lines[2]
    assert _count(config) == 0  # rows 2 and 4 were good, and still nothing was stored


def test_import_refuses_a_bad_icalendar_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.ics"
    source.write_text(BAD_ICS, encoding="utf-8")
    assert main(["appointments", "import", str(source), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "line 11:" in err and "start_invalid" in err  # the all-day event
    assert "line 1:" in err and "never closed" in err  # VCALENDAR is not closed
    assert _count(config) == 0


def test_import_of_an_unreadable_or_empty_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.csv"
    assert main(["appointments", "import", str(missing), "--config", str(config)]) == 1
    assert "file_unreadable" in capsys.readouterr().err
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"id,service\n\xff\xfe\x00garbage")
    assert main(["appointments", "import", str(binary), "--config", str(config)]) == 1
    assert "encoding_invalid" in capsys.readouterr().err
    dry = tmp_path / "good.csv"
    dry.write_text(GOOD_CSV, encoding="utf-8")
    assert main(["appointments", "import", str(dry), "--dry-run", "--config", str(config)]) == 0
    assert "2 appointment(s) would be imported" in capsys.readouterr().out
