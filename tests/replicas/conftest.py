"""A real PostgreSQL server for the replica tests: the one scripts/test.sh started, else our own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.hubtools import ROOT


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    if os.environ.get("OFFICE360_TEST_PG"):
        yield os.environ["OFFICE360_TEST_PG"]
        return
    started = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test-postgres.sh"), "start"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = dict(
        line.removeprefix("export ").replace("'", "").split("=", 1)
        for line in started.splitlines()
        if line.startswith("export ")
    )
    assert "OFFICE360_TEST_PG" in env, f"could not start PostgreSQL: {started}"
    os.environ.update(env)
    try:
        yield env["OFFICE360_TEST_PG"]
    finally:
        subprocess.run(
            [
                "bash",
                str(ROOT / "scripts" / "test-postgres.sh"),
                "stop",
                env["OFFICE360_TEST_PG_DIR"],
            ],
            check=False,
        )
