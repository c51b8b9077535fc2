"""A PostgreSQL server a fault test owns outright, so it can stop and start it under load."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.hubtools import free_port


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def missing_binaries() -> str | None:
    """Why no server can be started here, or None."""
    if _binary("initdb") is None or _binary("pg_ctl") is None:
        return "PostgreSQL server binaries not found (Debian package postgresql)"
    return None


def _as_owner(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


@dataclass
class OwnedPostgres:
    folder: Path
    port: int

    @classmethod
    def create(cls) -> OwnedPostgres:
        folder = Path(tempfile.mkdtemp(prefix="office360-faults-pg."))
        if os.getuid() == 0:
            shutil.chown(folder, "postgres")
        server = cls(folder, free_port())
        subprocess.run(
            _as_owner(
                [
                    str(_binary("initdb")),
                    "-D",
                    str(folder / "data"),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            ),
            check=True,
            capture_output=True,
        )
        server.start()
        return server

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner([str(_binary("pg_ctl")), "-D", str(self.folder / "data"), *args]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=100"
        )
        self._pg_ctl(
            "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start", "-o", options
        )

    def stop(self, mode: str = "fast") -> None:
        """fast: every session is terminated (what a restart does); immediate: as a crash."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def destroy(self) -> None:
        subprocess.run(
            _as_owner(
                [str(_binary("pg_ctl")), "-D", str(self.folder / "data"), "-m", "immediate", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"
