"""How large SQLite's write-ahead log grows under constant writes with hub/wal.py's thread.

One connection commits rows of 4 kB in groups of ten (as the hub: a group's commits, then its
answers), while a WalCheckpointer copies the log back and starts it again from the top once it
passes --restart-pages. Optional busy loops (--busy N processes) take the CPU from both, as a
loaded machine would. Prints pages written, the log's largest size in pages, and checkpoints run.

    .venv/bin/python bench/wal_growth.py [--seconds 3] [--busy 3] [--restart-pages 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.wal import WalCheckpointer


def _spin(until: float) -> None:
    while time.monotonic() < until:
        pass


def run(seconds: float, restart_pages: int, folder: Path) -> tuple[int, int, int]:
    path = folder / "growth.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
    checkpointer = WalCheckpointer(str(path), every_s=0.02, restart_pages=restart_pages)
    checkpointer.start()
    wal = Path(f"{path}-wal")
    written = largest = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(10):
            conn.execute("INSERT INTO t (body) VALUES (randomblob(4000))")
            written += 1
        largest = max(largest, wal.stat().st_size // 4096)
        time.sleep(0.002)
    checkpointer.stop()
    conn.close()
    return written, largest, checkpointer.checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--busy", type=int, default=0, help="busy-loop processes beside it")
    parser.add_argument("--restart-pages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.runs):
        until = time.monotonic() + args.seconds + 1
        hogs = [multiprocessing.Process(target=_spin, args=(until,)) for _ in range(args.busy)]
        for hog in hogs:
            hog.start()
        with tempfile.TemporaryDirectory() as folder:
            written, largest, checkpoints = run(args.seconds, args.restart_pages, Path(folder))
        for hog in hogs:
            hog.join()
        print(
            f"pages written {written}, log's largest size {largest} pages "
            f"({largest / max(written, 1):.0%}), checkpoints {checkpoints}, "
            f"busy loops {args.busy}, restart past {args.restart_pages} pages"
        )
    print(f"machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
