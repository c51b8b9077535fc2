"""`office360 display`: arguments, and the clear errors a bad configuration gets."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from display.cli import window_size
from office360.cli import build_parser, main
from office360.config import ConfigError, load_settings
from tests.hubtools import write_config


def config_with(tmp_path: Path, device: str = 'token = "t"', display: str = "") -> Path:
    path = write_config(tmp_path, 8360)
    path.write_text(
        path.read_text()
        + f'\n[device]\n{device}\n\n[display]\ncache_dir = "{tmp_path}/c"\n{display}\n'
    )
    return path


@pytest.mark.parametrize(
    ("text", "size"),
    [("1920x1080", (1920, 1080)), ("1280x720", (1280, 720)), (" 1080x1920 ", (1080, 1920))],
)
def test_size_argument(text: str, size: tuple[int, int]) -> None:
    assert window_size(text) == size


@pytest.mark.parametrize("text", ["1920", "1920x", "axb", "100x100", "99999x1080", "1920*1080"])
def test_bad_size_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        window_size(text)


def test_the_subcommand_parses_its_options() -> None:
    args = build_parser().parse_args(
        ["display", "--config", "x.toml", "--windowed", "--size", "1280x720"]
    )
    assert (args.fullscreen, args.size, args.config) == (False, (1280, 720), "x.toml")
    args = build_parser().parse_args(["display", "--fullscreen"])
    assert args.fullscreen is True and args.size is None


def test_no_token_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["display", "--config", str(config_with(tmp_path, device='token = ""'))]) == 2
    assert "office360 token create --role display" in capsys.readouterr().err


def test_unknown_office_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_with(tmp_path, device='token = "t"\noffice = "norte"')
    assert main(["display", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "device.office" in err and "norte" in err and "centro" in err


def test_unsupported_voice_language_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with(tmp_path, display='languages = ["es", "xx"]')
    assert main(["display", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "display.languages" in err and "xx" in err


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("volume = 1.5", "display.volume"),
        ('orientation = "diagonal"', "display.orientation"),
        ("last_calls = 40", "display.last_calls"),
        ('theme = "neon"', "display.theme"),
        ("blinking = 3", "display.blinking"),
    ],
)
def test_display_settings_are_checked(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_with(tmp_path, display=line))
    assert caught.value.key == key


def test_the_example_display_section_loads() -> None:
    settings = load_settings(
        Path(__file__).resolve().parents[2] / "config" / "office360.example.toml"
    )
    assert settings.display.languages == ["es", "en"] and settings.display.last_calls == 5
