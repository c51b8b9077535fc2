"""Fuzz every endpoint from the OpenAPI schema (schemathesis): no 5xx, responses match the schema."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import requests

from tests.hubtools import LiveHub

ST = (
    Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[2] / ".venv"))
    / "bin"
    / "st"
)
MAX_EXAMPLES = int(os.environ.get("OFFICE360_FUZZ_EXAMPLES", "25"))


def test_api_fuzz_finds_no_server_error(live_hub: LiveHub, tmp_path: Path) -> None:
    admin = live_hub.headers("admin")
    for service in ("general", "taxes", "certificates"):
        requests.post(
            f"{live_hub.url}/api/v1/tickets", json={"service": service}, headers=admin, timeout=5
        )
    result = subprocess.run(
        [
            str(ST),
            "run",
            f"{live_hub.url}/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance,response_headers_conformance",
            "--exclude-path",
            "/api/v1/events",
            "--header",
            f"Authorization: {admin['Authorization']}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "360",
            "--generation-deterministic",
            "--request-timeout",
            "5",
            "--no-color",
            "--report",
            "vcr",
            "--report-vcr-path",
            str(tmp_path / "cassette.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    cassette = (tmp_path / "cassette.yaml").read_text()
    codes = re.findall(r"status:\s*\n\s*code: '(\d+)'", cassette)
    assert len(codes) > 50, "the fuzzer sent too few requests to mean anything"
    assert not [c for c in codes if c.startswith("5")]
    log = (live_hub.log or Path()).read_text() if live_hub.log else ""
    assert "Traceback" not in log, log[-4000:]
