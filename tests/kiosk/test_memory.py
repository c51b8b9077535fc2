"""Giving freed heap back to the kernel (glibc on Debian and Raspberry Pi OS)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from kiosk.memory import map_large_blocks, release_free_memory


def test_glibc_calls_are_available_here() -> None:
    assert release_free_memory() is True
    assert map_large_blocks() is True


def test_trim_gives_freed_heap_back() -> None:
    """In a fresh process: fill the heap with small blocks, free them, trim: RSS falls."""
    script = textwrap.dedent(
        """
        import gc
        from kiosk.memory import release_free_memory

        def rss_kb():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

        blocks = [bytes(2000) for _ in range(60000)]  # ~120 MB of small heap blocks
        full = rss_kb()
        del blocks[:-1]  # the last block pins the heap's top: free() alone cannot shrink it
        gc.collect()
        before = rss_kb()
        release_free_memory()
        after = rss_kb()
        print(full, before, after)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    full, before, after = (int(x) for x in out)
    assert before - after > 50_000, (full, before, after)  # trimming gave back at least 50 MB
