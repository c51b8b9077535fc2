"""The `office360` command: hub, token and config subcommands as a technician runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.hubtools import ROOT, LiveHub


def office360(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "office360", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_token_create_list_revoke(live_hub: LiveHub) -> None:
    cfg = str(live_hub.config)
    made = office360(
        "token", "create", "--config", cfg, "--role", "staff", "--desk", "3", "--name", "Desk 3"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("o360_")
    headers = {"Authorization": f"Bearer {token}"}
    requests.post(
        f"{live_hub.url}/api/v1/tickets", json={"service": "taxes"}, headers=headers, timeout=5
    )
    assert (
        requests.post(f"{live_hub.url}/api/v1/desks/3/next", headers=headers, timeout=5).status_code
        == 200
    )
    assert (
        requests.post(f"{live_hub.url}/api/v1/desks/2/next", headers=headers, timeout=5).status_code
        == 403
    )

    listing = office360("token", "list", "--config", cfg)
    assert "Desk 3" in listing.stdout and token not in listing.stdout
    token_id = next(line.split()[0] for line in listing.stdout.splitlines() if "Desk 3" in line)

    from hub.db import make_engine
    from tests.hubtools import database_url_for

    engine = make_engine(database_url_for(live_hub.config), pool_size=1)
    with engine.connect() as conn:
        stored = [r.token_hash for r in conn.exec_driver_sql("SELECT token_hash FROM api_tokens")]
    engine.dispose()
    assert token not in stored and all(len(h) == 64 for h in stored)  # only hashes are stored

    assert office360("token", "revoke", "--config", cfg, token_id).returncode == 0
    import time

    time.sleep(2.1)
    assert (
        requests.post(
            f"{live_hub.url}/api/v1/desks/3/recall", headers=headers, timeout=5
        ).status_code
        == 401
    )
    assert office360("token", "revoke", "--config", cfg, token_id).returncode == 1


def test_staff_token_needs_an_existing_desk(hub_settings_file: Path) -> None:
    cfg = str(hub_settings_file)
    no_desk = office360("token", "create", "--config", cfg, "--role", "staff", "--name", "x")
    assert no_desk.returncode == 2 and "--desk" in no_desk.stderr
    bad_desk = office360(
        "token", "create", "--config", cfg, "--role", "staff", "--desk", "9", "--name", "x"
    )
    assert bad_desk.returncode == 2 and "'9'" in bad_desk.stderr


def test_bad_config_stops_the_hub_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[hub]\nport = "eighty"\n[[offices]]\nid = "x"\nname = "X"\nservices = []\ndesks = []\n'
    )
    r = office360("hub", "--config", str(bad))
    assert r.returncode == 2
    assert str(bad) in r.stderr and "hub.port" in r.stderr


def test_unwritable_data_dir_is_a_config_error(tmp_path: Path, hub_settings_file: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = office360("hub", "--config", str(hub_settings_file), "--data-dir", str(blocker / "sub"))
    assert r.returncode == 2
    assert "hub.data_dir" in r.stderr


def test_config_is_found_through_the_environment(hub_settings_file: Path) -> None:
    r = office360("config", "check", env={"OFFICE360_CONFIG": str(hub_settings_file)})
    assert r.returncode == 0
    assert "ok: centro (3 services, 3 desks)" in r.stdout


def test_hub_migrate(hub_settings_file: Path) -> None:
    r = office360("hub", "migrate", "--config", str(hub_settings_file))
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout


def test_help_lists_every_role() -> None:
    r = office360("--help")
    for command in ("hub", "token", "config", "demo"):
        assert command in r.stdout


def test_config_check_takes_the_file_as_argument_or_as_config(tmp_path: Path) -> None:
    example = str(ROOT / "config" / "office360.example.toml")
    for args in ((example,), ("--config", example)):
        r = office360("config", "check", *args)
        assert r.returncode == 0, r.stderr
        assert "ok" in r.stdout
