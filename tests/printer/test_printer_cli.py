"""`office360 printer test` and the [printer] section of the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from office360.cli import main
from office360.config import ConfigError, load_settings
from printer import printer_from_settings
from printer.decode import Raster, decode
from printer.fake import FakePrinter
from printer.preview import PreviewPrinter

OFFICE = """
[hub]
port = 8361
public_url = "https://citas.example.es"

[[offices]]
id = "centro"
name = "Oficina Tributaria Norte"
languages = ["en", "es"]
services = [{ id = "general", prefix = "A", names = { es = "General" } }]
desks = [{ id = "1", services = ["general"] }]
"""


def config(tmp_path: Path, printer: str) -> Path:
    path = tmp_path / "office360.toml"
    path.write_text(OFFICE + "\n[printer]\n" + printer, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OFFICE360_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def test_printer_url_alone_needs_no_config(
    fake_printer: FakePrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["printer", "test", "--printer", fake_printer.url]) == 0
    out = capsys.readouterr().out
    assert "status: ok" in out and "print: ok" in out
    doc = decode(fake_printer.wait_for_jobs(1)[0])
    assert "T001" in doc.text_lines
    assert doc.qr_payloads == ["http://127.0.0.1:8360/status/0?t=printer-test"]


def test_config_file_printer(
    tmp_path: Path, fake_printer: FakePrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(
        tmp_path, f'url = "{fake_printer.url}"\nprofile = "POS-5890"\npaper_width_mm = 58\n'
    )
    assert main(["printer", "test", "--config", str(path)]) == 0
    assert "profile POS-5890  58 mm  32 columns" in capsys.readouterr().out
    doc = decode(fake_printer.wait_for_jobs(1)[0], profile="POS-5890")
    assert doc.text_lines[0] == "Oficina Tributaria Norte"
    assert "Your number" in doc.text_lines  # the office's first language
    assert [i for i in doc.items if isinstance(i, Raster)]
    assert doc.qr_payloads == ["https://citas.example.es/status/0?t=printer-test"]


def test_printer_without_paper_fails_the_test(
    fake_printer: FakePrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_printer.set_state("paper_out")
    assert main(["printer", "test", "--printer", fake_printer.url]) == 1
    out = capsys.readouterr().out
    assert "status: paper_out" in out
    assert "print: failed: printer_paper_out" in out
    assert main(["printer", "test", "--status-only", "--printer", fake_printer.url]) == 1


def test_preview_printer_reports_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["printer", "test", "--printer", f"preview://{tmp_path}/out", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    [png] = (tmp_path / "out").glob("ticket-T001-*.png")
    assert str(png) in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--printer", "lpt://1"], "unknown printer URL"),
        (["--printer", "tcp://127.0.0.1:9", "--profile", "TM-T99"], "unknown printer profile"),
    ],
)
def test_bad_command_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["printer", "test", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("section", "key", "reason"),
    [
        ('url = "lpt://1"', "printer.url", "unknown printer URL"),
        ('url = "usb://epson"', "printer.url", "unknown printer URL"),
        ('profile = "TM-T88"', "printer.profile", "unknown printer profile 'TM-T88'"),
        ('profile = "ZJ-5870"\ncode_page = "CP858"', "printer.code_page", "no code page 'CP858'"),
        ("paper_width_mm = 57", "printer.paper_width_mm", "80 or 58"),
        ("timeout_s = 0", "printer.timeout_s", "greater than 0"),
        ('qr = "maybe"', "printer.qr", "'auto', 'native' or 'image'"),
        ('urll = "tcp://x"', "printer.urll", "unknown key"),
    ],
)
def test_config_check_names_the_bad_key(
    tmp_path: Path, section: str, key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config(tmp_path, section + "\n"), env={})
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_settings_open_the_printer(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        f'url = "preview://{tmp_path}/t"\nprofile = "TM-T20II"\ncut = "partial"\n'
        'footer = { es = "Gracias", en = "Thanks" }\n',
    )
    settings = load_settings(path, env={"OFFICE360__PRINTER__TIMEOUT_S": "1.5"})
    printer = printer_from_settings(settings.printer)
    assert isinstance(printer, PreviewPrinter)
    assert (printer.profile_name, printer.timeout_s, printer.cut) == ("TM-T20II", 1.5, "partial")
    assert printer.footers == {"es": "Gracias", "en": "Thanks"}


def test_printer_that_never_answers_gets_a_hint(
    tmp_path: Path, fake_printer: FakePrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_printer.set_state(silent=True)
    path = config(tmp_path, f'url = "{fake_printer.url}"\ntimeout_s = 0.2\n')
    assert main(["printer", "test", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "status: offline" in out and "print: failed: printer_timeout" in out
    assert "ask_status = false" in out
    path.write_text(path.read_text() + "ask_status = false\n")
    assert main(["printer", "test", "--config", str(path)]) == 0
    assert "status: unknown" in capsys.readouterr().out
