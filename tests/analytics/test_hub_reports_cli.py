"""`office360 report` reads the hub's database directly and gives what the API gives."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import requests

from office360.cli import main
from tests.hubtools import ThreadHub

from .test_hub_reports_api import DAY, make_day


def report(hub: ThreadHub, *extra: str) -> list[str]:
    return ["report", "--config", str(hub.config), "--from", DAY, "--to", DAY, *extra]


def test_cli_report_matches_the_api(
    thread_hub: ThreadHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_day(thread_hub)
    api = requests.get(
        f"{thread_hub.url}/api/v1/reports/kpis",
        params={"from": DAY, "to": DAY, "format": "csv"},
        headers=thread_hub.headers("manager"),
        timeout=10,
    ).text
    assert main(report(thread_hub, "--format", "csv")) == 0
    printed = capsys.readouterr().out
    assert printed == api
    office = next(
        row for row in csv.DictReader(io.StringIO(printed)) if row["dimension"] == "office"
    )
    assert (office["issued"], office["wait_median_s"]) == ("5", "270.0")

    out = tmp_path / "kpis.json"
    assert (
        main(report(thread_hub, "--format", "json", "--office", "centro", "--output", str(out)))
        == 0
    )
    body = json.loads(out.read_text(encoding="utf-8"))
    assert (body["office"], body["from"], body["to"]) == ("centro", DAY, DAY)
    assert next(g for g in body["groups"] if g["dimension"] == "office")["served"] == 2


def test_cli_report_errors(thread_hub: ThreadHub, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", "--config", str(thread_hub.config), "--from", "2026-03-05", "--to", DAY]
    assert main(args) == 1
    assert "[report_range_invalid]" in capsys.readouterr().err
    assert main(report(thread_hub, "--office", "nowhere")) == 1
    assert "[unknown_office]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--config", str(thread_hub.config), "--from", "2026-13-01", "--to", DAY])
    assert exit_info.value.code == 2
    assert "is not a date" in capsys.readouterr().err


def test_cli_report_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.hubtools import free_port, write_config

    config = write_config(
        tmp_path, free_port(), database_url=f"sqlite:///{tmp_path / 'none' / 'office360.db'}"
    )
    assert main(["report", "--config", str(config), "--from", DAY, "--to", DAY]) == 1
    assert "[database_missing]" in capsys.readouterr().err
