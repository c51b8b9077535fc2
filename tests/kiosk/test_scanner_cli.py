"""`office360 scan`: images, a live source, a missing camera, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from kiosk.cli import escape
from kiosk.scanner import empty_frame, qr_frame
from office360.cli import main

PHOTO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "qr-photos" / "qrcode-2"


def test_scan_prints_path_tab_text_per_image(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = tmp_path / "code.png"
    cv2.imwrite(str(code), qr_frame("BK-7Q2K", angle_deg=20))
    blank = tmp_path / "blank.jpg"
    cv2.imwrite(str(blank), empty_frame())
    assert main(["scan", str(code), str(blank), str(PHOTO / "10.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{code}\tBK-7Q2K",
        f"{blank}",
        f"{PHOTO / '10.png'}\tGoogle モバイル\\r\\nhttp://google.jp",
    ]


def test_scan_two_codes_in_one_photo_are_tab_separated(capsys: pytest.CaptureFixture) -> None:
    assert main(["scan", str(PHOTO / "16.png")]) == 0
    fields = capsys.readouterr().out.rstrip("\n").split("\t")
    assert len(fields) == 3 and all("d-qr.net" in f for f in fields[1:])


def test_scan_unreadable_image_is_a_coded_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), qr_frame("ok"))
    (tmp_path / "bad.png").write_text("text")
    assert main(["scan", str(tmp_path / "bad.png"), str(good)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{good}\tok\n"
    assert "image_unreadable" in err and "bad.png" in err


def test_scan_needs_something_to_read(capsys: pytest.CaptureFixture) -> None:
    assert main(["scan"]) == 2
    assert "IMAGE" in capsys.readouterr().err


def test_scan_live_from_a_folder_prints_each_new_read(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for i, text in enumerate(["A-017", "B-003"]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), qr_frame(text))
    assert main(["scan", "--source", str(tmp_path), "--seconds", "2.0"]) == 0
    out, err = capsys.readouterr()
    # the folder loops at 5 frames a second: each code is seen several times, printed once
    assert out.splitlines() == [f"{tmp_path}\tA-017", f"{tmp_path}\tB-003"]
    assert f"{tmp_path}: ok" in err


def test_scan_camera_that_is_not_there(capsys: pytest.CaptureFixture) -> None:
    # no USB camera here; a technician sees the state rather than a traceback
    assert main(["scan", "--camera", "97", "--seconds", "0.3"]) == 0
    assert "camera 97: no_camera" in capsys.readouterr().err


def test_scan_bad_camera_name(capsys: pytest.CaptureFixture) -> None:
    assert main(["scan", "--camera", "front"]) == 2
    assert "source_invalid" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("a\tb", "a\\tb"),
        ("a\r\nb", "a\\r\\nb"),
        ("x\\y", "x\\\\y"),
        ("\x01\x10AD", "\\x01\\x10AD"),
        ("ﾃﾞｻﾞｲﾝ 阿", "ﾃﾞｻﾞｲﾝ 阿"),
    ],
)
def test_escape_keeps_one_line(text: str, shown: str) -> None:
    assert escape(text) == shown
