"""A hub subprocess whose disk can be made to refuse writes, and given space back, while it runs.

Two real ways, both the operating system refusing the hub's writes:
- `filesystem`: the hub's data folder is a small tmpfs mounted in a private mount namespace
  (`unshare -rm`, no root needed); the test fills it with a ballast file, so writes that need a new
  block fail with ENOSPC exactly as on a full SD card (SQLite: SQLITE_FULL), and deletes the
  ballast to give the space back. The test reaches the files through /proc/PID/root.
- `file_size_limit`: RLIMIT_FSIZE of the running hub is lowered to one byte with prlimit(2)
  (SIGXFSZ ignored), so every write to any file fails with EFBIG (SQLite: SQLITE_IOERR_WRITE,
  "disk I/O error"), then raised again. Works wherever prlimit does.
The hub's output goes through a pipe (a pipe is not a file, so the limit never silences its log).
"""

from __future__ import annotations

import contextlib
import errno
import resource
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.hubtools import ROOT, free_port, make_token, wait_healthy, write_config

TMPFS_SIZE = "16m"


def user_namespaces_missing() -> str | None:
    """Why a private tmpfs cannot be mounted here, or None."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) not installed"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"no unprivileged user namespaces here: {probe.stderr.strip()}"
    return None


@dataclass
class FullableHub:
    folder: Path
    way: str  # "filesystem" or "file_size_limit"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = self.folder / "data"
        # the disk that fills is the hub's own: SQLite's file in the data folder, whatever
        # backend the rest of the suite runs on (a PostgreSQL hub writes no database file)
        sqlite = f"sqlite:///{self.data / 'office360.db'}"
        self.config = write_config(self.folder, self.port, database_url=sqlite)
        # SQLite resolves the /proc/PID/root link, so the test cannot open the hub's database
        # through it: tokens go into the database before the hub starts, and the test reads a copy.
        for role in ("admin", "kiosk"):
            self._tokens[role] = make_token(self.config, role)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_seen_by_hub(self) -> Path:
        """The hub's data folder as its own mount namespace sees it."""
        assert self.proc is not None
        return Path(f"/proc/{self.proc.pid}/root") / self.data.relative_to("/")

    def start(self) -> None:
        hub = [sys.executable, "-m", "office360", "hub", "--config", str(self.config)]
        # An ignored signal stays ignored across exec: EFBIG errors instead of death by SIGXFSZ.
        script = 'trap "" XFSZ; exec "$@"'
        command = ["sh", "-c", script, "sh", *hub]
        if self.way == "filesystem":
            seed = self.folder / "seed"
            self.data.rename(seed)
            self.data.mkdir()
            mount = (
                f'mount -t tmpfs -o size={TMPFS_SIZE} office360-data "{self.data}" && '
                f'cp -a "{seed}/." "{self.data}/" && '
            )
            command = ["unshare", "-rm", "sh", "-c", mount + script, "sh", *hub]
        log = open(self.folder / "hub.log", "ab")  # noqa: SIM115 - the pump thread closes it
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT
        )
        threading.Thread(target=_pump, args=(self.proc, log), daemon=True).start()
        wait_healthy(self.url, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens[role]}"}

    def copy_database(self, to: Path) -> Path:
        """The database file and its write-ahead log as they are on the hub's disk now (call it
        while no request is in flight); SQLite recovers the log when the copy is opened."""
        to.mkdir(parents=True, exist_ok=True)
        for name in ("office360.db", "office360.db-wal"):
            source = self.data_seen_by_hub / name
            if source.exists():
                shutil.copyfile(source, to / name)
        return to / "office360.db"

    # --- the fault ---------------------------------------------------------------------------

    def fill_disk(self) -> None:
        if self.way == "filesystem":
            with open(self.data_seen_by_hub / "ballast", "wb") as ballast:
                chunk = b"\0" * 65536
                while True:
                    try:
                        ballast.write(chunk)
                        ballast.flush()
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC, exc
                        break
                with contextlib.suppress(OSError):  # the last partial chunk may not fit either
                    ballast.close()
        else:
            assert self.proc is not None
            resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))

    def free_disk(self) -> None:
        if self.way == "filesystem":
            (self.data_seen_by_hub / "ballast").unlink()
        else:
            assert self.proc is not None
            unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, unlimited)


def _pump(proc: subprocess.Popen[bytes], log: object) -> None:
    assert proc.stdout is not None
    with log:  # type: ignore[attr-defined]
        for line in proc.stdout:
            log.write(line)  # type: ignore[attr-defined]
            log.flush()  # type: ignore[attr-defined]
