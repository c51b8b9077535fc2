"""Scanner in its background thread with the fake camera (unplug, replug, failures), and the
serial scanner on a real pseudo-terminal."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.scanner import (
    STATE_ERROR,
    STATE_NO_CAMERA,
    STATE_OK,
    FakeCamera,
    FakeScanner,
    ImageFolderSource,
    Scanner,
    ScannerError,
    SerialScanner,
    decode_frame,
    qr_frame,
    read_image,
)

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "qr-photos"

FAST_RETRY = (0.01, 0.02)


class Recorder:
    def __init__(self) -> None:
        self.codes: list[str] = []
        self.states: list[str] = []
        self.lock = threading.Lock()

    def on_code(self, text: str) -> None:
        with self.lock:
            self.codes.append(text)

    def on_state(self, state: str) -> None:
        with self.lock:
            self.states.append(state)


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def test_a_code_held_up_for_many_frames_is_reported_once(rec: Recorder) -> None:
    camera = FakeCamera(["BK-1"] * 5 + ["BK-2"] * 3, fps=200)
    scanner = Scanner(camera, rec.on_code, rec.on_state, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: camera.frames_read >= 12)
    finally:
        scanner.stop()
    assert rec.codes == ["BK-1", "BK-2"]
    assert rec.states == [STATE_OK]
    assert scanner.latest_frame is not None and scanner.latest_frame.shape == (480, 640, 3)
    assert scanner.frame_count == camera.frames_read
    assert not scanner.running and not camera.is_open


def test_dedupe_window_uses_the_clock_given(rec: Recorder) -> None:
    now = [0.0]
    camera = FakeCamera(fps=200)
    scanner = Scanner(camera, rec.on_code, clock=lambda: now[0], dedupe_s=3.0)
    scanner.start()
    try:
        camera.push("BK-9")
        wait_until(lambda: rec.codes == ["BK-9"])
        now[0] = 2.0
        camera.push("BK-9")
        wait_until(lambda: camera.frames_read >= 5)
        now[0] = 10.0  # out of sight long enough: the same citizen tries again
        camera.push("BK-9")
        wait_until(lambda: rec.codes == ["BK-9", "BK-9"])
    finally:
        scanner.stop()


def test_unplug_is_reported_and_replug_recovers(rec: Recorder) -> None:
    camera = FakeCamera(fps=100)
    scanner = Scanner(camera, rec.on_code, rec.on_state, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: rec.states == [STATE_OK])
        camera.unplug()
        wait_until(lambda: rec.states == [STATE_OK, STATE_NO_CAMERA])
        opens = camera.open_count
        time.sleep(0.1)
        assert camera.open_count == opens  # still unplugged: open keeps failing
        camera.replug()
        wait_until(lambda: rec.states == [STATE_OK, STATE_NO_CAMERA, STATE_OK])
        camera.push("after-replug")
        wait_until(lambda: rec.codes == ["after-replug"])
    finally:
        scanner.stop()
    assert camera.open_count == 2


def test_starting_with_no_camera_then_plugging_it_in(rec: Recorder) -> None:
    camera = FakeCamera(fps=100)
    camera.unplug()
    scanner = Scanner(camera, rec.on_code, rec.on_state, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: rec.states == [STATE_NO_CAMERA])
        camera.replug()
        wait_until(lambda: rec.states == [STATE_NO_CAMERA, STATE_OK])
    finally:
        scanner.stop()


def test_a_failing_read_is_an_error_then_recovers(rec: Recorder) -> None:
    camera = FakeCamera(fps=100)
    scanner = Scanner(camera, rec.on_code, rec.on_state, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: rec.states == [STATE_OK])
        camera.fail_next_read(OSError("driver hiccup"))
        wait_until(lambda: rec.states == [STATE_OK, STATE_ERROR, STATE_OK])
        camera.push("still-works")
        wait_until(lambda: rec.codes == ["still-works"])
    finally:
        scanner.stop()


def test_a_bad_frame_is_an_error_state_not_a_dead_thread(rec: Recorder) -> None:
    camera = FakeCamera([np.zeros((480, 640), np.float64)], fps=100)
    scanner = Scanner(camera, rec.on_code, rec.on_state, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: STATE_ERROR in rec.states)
        camera.push("next")
        wait_until(lambda: rec.codes == ["next"])
    finally:
        scanner.stop()
    assert rec.states == [STATE_OK, STATE_ERROR, STATE_OK]


def test_a_failing_callback_does_not_stop_scanning(rec: Recorder) -> None:
    def on_code(text: str) -> None:
        rec.on_code(text)
        raise RuntimeError("app bug")

    camera = FakeCamera(["one", "two"], fps=100)
    scanner = Scanner(camera, on_code, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: rec.codes == ["one", "two"])
        assert scanner.running
    finally:
        scanner.stop()


def test_a_finite_folder_ends_the_thread(tmp_path: Path, rec: Recorder) -> None:
    for i, text in enumerate(["A-017", "B-003"]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), qr_frame(text, angle_deg=10 * i))
    scanner = Scanner(ImageFolderSource(tmp_path, fps=0, loop=False), rec.on_code, rec.on_state)
    scanner.start()
    scanner.join(5)
    assert not scanner.running
    assert rec.codes == ["A-017", "B-003"] and rec.states == [STATE_OK]


def test_a_bad_source_is_an_error_state(tmp_path: Path, rec: Recorder) -> None:
    scanner = Scanner(ImageFolderSource(tmp_path), rec.on_code, rec.on_state, retry_delays_s=(5,))
    scanner.start()
    try:
        wait_until(lambda: rec.states == [STATE_ERROR])
    finally:
        t0 = time.monotonic()
        scanner.stop()
        assert time.monotonic() - t0 < 1.0  # stop does not wait out the back-off


def test_settings_are_checked() -> None:
    for bad in ({"retry_delays_s": ()}, {"fallback_every": 0}):
        with pytest.raises(ScannerError) as caught:
            Scanner(FakeCamera(), print, **bad)  # type: ignore[arg-type]
        assert caught.value.code == "setting_invalid"


def test_fallback_every_n_frames_still_reads_what_only_the_fallback_can(rec: Recorder) -> None:
    # a real photo that zxing-cpp alone misses and the "pure" fallback reads
    photo = read_image(PHOTOS / "qrcode-2" / "12.png")
    expected = (PHOTOS / "qrcode-2" / "12.txt").read_bytes().decode("utf-8")
    assert decode_frame(photo, fallback=False) == []
    for frames_shown, codes in ((2, []), (3, [expected])):  # frame 3 is the one with fallback
        rec.codes.clear()
        camera = FakeCamera([photo] * frames_shown, fps=200)
        scanner = Scanner(camera, rec.on_code, fallback_every=3)
        scanner.start()
        try:
            wait_until(lambda: camera.frames_read >= 5)  # noqa: B023
        finally:
            scanner.stop()
        assert rec.codes == codes


def test_fake_scanner_for_app_tests(rec: Recorder) -> None:
    fake = FakeScanner(rec.on_code, rec.on_state)
    assert fake.scan("early") is False  # not started
    fake.start()
    assert fake.scan("BK-1", now=0.0) and not fake.scan("BK-1", now=1.0)
    fake.unplug()
    assert fake.scan("BK-2", now=9.0) is False
    fake.replug()
    assert fake.scan("BK-2", now=9.5)
    assert rec.codes == ["BK-1", "BK-2"]
    assert rec.states == [STATE_OK, STATE_NO_CAMERA, STATE_OK]


# A pseudo-terminal stands in for the USB serial scanner, which cannot be plugged in here.
def test_serial_scanner_reads_lines_and_survives_unplug(rec: Recorder) -> None:
    master, slave = os.openpty()
    port = os.ttyname(slave)
    scanner = SerialScanner(port, rec.on_code, rec.on_state, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: rec.states == [STATE_OK])
        os.write(master, b"BK-7Q2K\r\nBK-7Q2K\r\n\r\nB-2")
        os.write(master, "0\r\nTrámite\n".encode())
        wait_until(lambda: rec.codes == ["BK-7Q2K", "B-20", "Trámite"])
        os.close(master)  # the scanner's cable is pulled
        wait_until(lambda: STATE_NO_CAMERA in rec.states)
    finally:
        scanner.stop()
        os.close(slave)
    assert rec.states[:2] == [STATE_OK, STATE_NO_CAMERA], rec.states
    assert rec.codes == ["BK-7Q2K", "B-20", "Trámite"]


def test_serial_port_missing_is_no_camera(rec: Recorder) -> None:
    scanner = SerialScanner("/dev/ttyNOPE9", rec.on_code, rec.on_state, retry_delays_s=FAST_RETRY)
    scanner.start()
    try:
        wait_until(lambda: rec.states == [STATE_NO_CAMERA])
    finally:
        scanner.stop()
