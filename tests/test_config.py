"""The configuration schema: the example file is valid, and each mistake names file, key and reason."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from office360.config import ConfigError, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "config").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_config_is_valid(path: Path) -> None:
    settings = load_settings(path, env={})
    assert settings.offices


def test_example_documents_every_key() -> None:
    """Each key of the hub, queue and device sections appears in the example with a comment above."""
    from office360.config import DeviceSettings, HubSettings, QueueSettings

    text = (ROOT / "config" / "office360.example.toml").read_text()
    for model in (HubSettings, QueueSettings, DeviceSettings):
        for name in model.model_fields:
            lines = text.splitlines()
            index = next(
                (i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{name} =")),
                None,
            )
            assert index is not None, f"{model.__name__}.{name} is not in the example"
            assert lines[index - 1].lstrip().startswith("#"), f"{name} has no comment"


BASE = """
[[offices]]
id = "centro"
name = "Centro"
[[offices.services]]
id = "general"
prefix = "A"
names = { es = "General" }
[[offices.desks]]
id = "1"
services = ["general"]
"""

MISTAKES = [
    ("[hub]\nport = 70000\n" + BASE, "hub.port", "less than or equal to 65535"),
    ("[hub]\nprot = 8000\n" + BASE, "hub.prot", "unknown key"),
    (
        "[queue]\nmax_overtake_minutes = -1\n" + BASE,
        "queue.max_overtake_minutes",
        "greater than or equal",
    ),
    (
        BASE.replace('prefix = "A"', 'prefix = "a1"'),
        "offices[centro].services[general].prefix",
        "should match",
    ),
    (
        BASE.replace('services = ["general"]', 'services = ["nope"]'),
        "offices[centro]",
        "unknown service",
    ),
    (
        BASE.replace('name = "Centro"', 'name = "Centro"\ntimezone = "Mars/Olympus"'),
        "offices[centro].timezone",
        "unknown time zone",
    ),
    (
        BASE.replace('names = { es = "General" }', "names = {}"),
        "offices[centro].services[general].names",
        "at least one language",
    ),
    ("", "offices", "required key is missing"),
]


@pytest.mark.parametrize(("text", "key", "reason"), MISTAKES)
def test_mistakes_name_the_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = tmp_path / "office360.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.file == str(path)
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(path) in str(info.value) and key in str(info.value)


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[hub\nport = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, env={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml", env={})


def test_environment_overrides(tmp_path: Path) -> None:
    path = tmp_path / "office360.toml"
    path.write_text(BASE)
    settings = load_settings(
        path, env={"OFFICE360__HUB__PORT": "9123", "OFFICE360__HUB__HOST": "0.0.0.0"}
    )
    assert settings.hub.port == 9123
    assert settings.hub.host == "0.0.0.0"
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"OFFICE360__HUB__PORT": "lots"})
    assert info.value.key == "hub.port"
    assert "environment variable OFFICE360__HUB__PORT" in info.value.reason  # not the file's
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"OFFICE360__HUB__PROT": "9000"})
    assert info.value.key == "hub.prot" and "OFFICE360__HUB__PROT" in info.value.reason
    path.write_text('[hub]\nport = "eighty"\n' + BASE)
    with pytest.raises(ConfigError) as info:  # the file's own mistake is not blamed on a variable
        load_settings(path, env={"OFFICE360__HUB__HOST": "0.0.0.0"})
    assert info.value.key == "hub.port" and "environment" not in info.value.reason


def test_two_default_offices_are_refused() -> None:
    raw = tomllib.loads(BASE.replace('name = "Centro"', 'name = "Centro"\ndefault = true'))
    second = dict(raw["offices"][0], id="norte")
    raw["offices"].append(second)
    with pytest.raises(ConfigError, match="only one office may be the default"):
        parse_settings(raw, "x.toml")


def test_checking_a_printer_profile_leaves_logging_alone() -> None:
    """python-escpos calls logging.basicConfig() on import; a kiosk then printed each line twice."""
    import subprocess
    import sys

    code = (
        "import logging; from office360.config import load_settings;"
        f"load_settings({str(ROOT / 'config' / 'office360.example.toml')!r}, env={{}});"
        "import printer.escpos_backend as b; b._escpos();"
        "print(len(logging.getLogger().handlers))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
