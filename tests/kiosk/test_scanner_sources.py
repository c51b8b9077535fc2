"""Frame sources: image files, a folder of images, a video file, the camera's device parsing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.scanner import (
    CameraUnavailable,
    ImageFolderSource,
    OpenCVCamera,
    ScannerError,
    VideoFileSource,
    decode_frame,
    parse_device,
    qr_frame,
    read_image,
    source_for_path,
)


def test_read_image_lays_transparency_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((40, 60, 4), np.uint8)  # fully transparent black
    rgba[:, :30, 3] = 255  # left half opaque black
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    image = read_image(tmp_path / "a.png")
    assert image.shape == (40, 60, 3)
    assert image[:, :30].max() == 0 and image[:, 30:].min() == 255


def test_read_image_sixteen_bit(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((10, 10), 65535, np.uint16))
    image = read_image(tmp_path / "deep.png")
    assert image.dtype == np.uint8 and image.max() == 255


@pytest.mark.parametrize("name", ["missing.png", "junk.png"])
def test_read_image_errors_are_coded(tmp_path: Path, name: str) -> None:
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ScannerError) as caught:
        read_image(tmp_path / name)
    assert caught.value.code == "image_unreadable"


def test_image_folder_plays_in_name_order_then_ends_or_loops(tmp_path: Path) -> None:
    for i, text in enumerate(["first", "second"]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), qr_frame(text))
    (tmp_path / "notes.txt").write_text("ignored")
    once = ImageFolderSource(tmp_path, fps=0, loop=False)
    once.open()
    texts = []
    while (frame := once.read()) is not None:
        texts += decode_frame(frame)
    assert texts == ["first", "second"]
    looping = ImageFolderSource(tmp_path, fps=0)
    looping.open()
    assert [decode_frame(looping.read()) for _ in range(3)] == [["first"], ["second"], ["first"]]


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ScannerError, match="holds no image") as caught:
        ImageFolderSource(tmp_path).open()
    assert caught.value.code == "source_invalid"
    with pytest.raises(ScannerError) as caught:
        ImageFolderSource(tmp_path / "nope").open()
    assert caught.value.code == "source_invalid"


def _write_video(path: Path, texts: list[str]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    for text in texts:
        for _ in range(3):
            writer.write(qr_frame(text))
    writer.release()


def test_video_file_is_read_to_the_end(tmp_path: Path) -> None:
    video = tmp_path / "demo.avi"
    _write_video(video, ["one", "two"])
    source = source_for_path(video, fps=0, loop=False)
    assert isinstance(source, VideoFileSource)
    source.open()
    seen: list[str] = []
    frames = 0
    while (frame := source.read()) is not None:
        frames += 1
        seen += [t for t in decode_frame(frame) if t not in seen]
    source.close()
    assert frames == 6 and seen == ["one", "two"]


def test_video_file_loops(tmp_path: Path) -> None:
    video = tmp_path / "demo.avi"
    _write_video(video, ["one"])
    source = VideoFileSource(video, fps=0, loop=True)
    source.open()
    assert all(source.read() is not None for _ in range(10))
    source.close()
    assert source.read() is None


def test_video_file_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.avi").write_bytes(b"\0" * 100)
    for path in (tmp_path / "missing.mp4", tmp_path / "bad.avi"):
        with pytest.raises(ScannerError) as caught:
            VideoFileSource(path).open()
        assert caught.value.code == "source_invalid"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        (" 2 ", 2),
        (3, 3),
        ("/dev/video1", "/dev/video1"),
        ("/dev/v4l/by-id/x", "/dev/v4l/by-id/x"),
    ],
)
def test_parse_device(text: str | int, expected: int | str) -> None:
    assert parse_device(text) == expected


@pytest.mark.parametrize("text", ["cam", "", "-1", -1, "video0"])
def test_parse_device_rejects(text: str | int) -> None:
    with pytest.raises(ScannerError) as caught:
        parse_device(text)
    assert caught.value.code == "source_invalid"


def test_a_missing_camera_is_unavailable_not_a_crash() -> None:
    # no USB camera on this machine: what the kiosk sees when none is plugged in
    camera = OpenCVCamera("/dev/video97")
    with pytest.raises(CameraUnavailable) as caught:
        camera.open()
    assert caught.value.code == "camera_unavailable"
    camera.close()
