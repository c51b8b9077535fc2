"""Real hubs for tests: in a subprocess (LiveHub) or in a thread of the test process (ThreadHub)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]

SERVICES = """
  [[offices.services]]
  id = "general"
  prefix = "A"
  names = { es = "Información general", en = "General information" }
  icon = "info"

  [[offices.services]]
  id = "certificates"
  prefix = "B"
  names = { es = "Certificados", en = "Certificates" }
  icon = "document"

  [[offices.services]]
  id = "taxes"
  prefix = "C"
  names = { es = "Tributos", en = "Taxes" }
  icon = "euro"

  [[offices.desks]]
  id = "1"
  name = "Mostrador 1"
  services = ["general", "certificates"]

  [[offices.desks]]
  id = "2"
  name = "Mostrador 2"
  services = ["general", "taxes"]

  [[offices.desks]]
  id = "3"
  name = "Mostrador 3"
  services = ["certificates", "taxes"]
"""


def tampered(token: str) -> str:
    """The token with its first character changed (the last may carry only spare bits)."""
    return ("B" if token[0] == "A" else "A") + token[1:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_postgres_database() -> str:
    """A fresh database on the server scripts/test-postgres.sh started (OFFICE360_TEST_PG)."""
    import uuid

    import psycopg

    server = os.environ["OFFICE360_TEST_PG"]
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


NORTE = """
[[offices]]
id = "norte"
name = "Oficina Norte"
timezone = "Europe/Madrid"

  [[offices.services]]
  id = "general"
  prefix = "N"
  names = { es = "General", en = "General" }

  [[offices.desks]]
  id = "n1"
  services = ["general"]
"""
"""A second office for write_config(extra=...): norte, one service, one desk."""


def write_config(folder: Path, port: int, extra: str = "", database_url: str = "") -> Path:
    """A hub config; on PostgreSQL when OFFICE360_TEST_BACKEND=postgres (see scripts/test.sh)."""
    if not database_url and os.environ.get("OFFICE360_TEST_BACKEND") == "postgres":
        database_url = new_postgres_database()
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = folder / "office360.toml"
    path.write_text(
        f"""
[hub]
host = "127.0.0.1"
port = {port}
data_dir = "{data}"
database_url = "{database_url}"

[queue]
max_overtake_minutes = 15

[[offices]]
id = "centro"
name = "Oficina 360 Centro"
timezone = "Europe/Madrid"
languages = ["es", "en"]
default = true
{SERVICES}
{extra}
""",
        encoding="utf-8",
    )
    return path


def database_url_for(config: Path) -> str:
    from office360.config import load_settings

    return load_settings(config).hub.sqlalchemy_url()


def make_token(config: Path, role: str, desk: str | None = None, office: str | None = None) -> str:
    """Insert a token straight into the hub's database (as `office360 token create` does)."""
    from hub import repository
    from hub.auth import hash_token, new_token
    from hub.db import make_engine, migrate

    url = database_url_for(config)
    migrate(url)
    engine = make_engine(url, pool_size=1)
    token = new_token()
    with engine.begin() as conn:
        repository.insert_token(
            conn,
            name=f"test {role} {desk or ''}".strip(),
            role=role,
            office_id=office or ("centro" if desk else None),
            desk_id=desk,
            token_hash=hash_token(token),
            created_at=datetime.now(UTC),
        )
    engine.dispose()
    return token


def wait_healthy(
    url: str, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"hub exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"hub at {url} not healthy after {timeout}s")


@dataclass
class LiveHub:
    """`office360 hub` as a subprocess on a loopback port."""

    config: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log = self.config.parent / "hub.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "office360", "hub", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
        wait_healthy(self.url, proc=self.proc)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def token(self, role: str, desk: str | None = None) -> str:
        key = (role, desk)
        if key not in self._tokens:
            self._tokens[key] = make_token(self.config, role, desk)
        return self._tokens[key]

    def headers(self, role: str = "admin", desk: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, desk)}", **extra}


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **kwargs: Any) -> None:
        with self._lock:
            self.now += timedelta(**kwargs)


@dataclass
class ThreadHub:
    """The hub app served by uvicorn in a thread of the test process, with a clock the test moves."""

    config: Path
    port: int
    clock: FakeClock
    server: Any = None
    thread: threading.Thread | None = None
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import uvicorn

        from hub.app import create_app
        from hub.workers import HubServer
        from office360.config import load_settings

        app = create_app(load_settings(self.config), clock=self.clock)
        self.server = HubServer(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_healthy(self.url)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            assert self.thread is not None
            self.thread.join(10)
            self.server = None

    def token(self, role: str, desk: str | None = None) -> str:
        key = (role, desk)
        if key not in self._tokens:
            self._tokens[key] = make_token(self.config, role, desk)
        return self._tokens[key]

    def headers(self, role: str = "admin", desk: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, desk)}", **extra}


def live_hub_in(folder: Path, extra: str = "") -> Iterator[LiveHub]:
    port = free_port()
    hub = LiveHub(write_config(folder, port, extra), port)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
