"""Give freed heap memory back to the system, so a kiosk that runs for days keeps a small
resident set.

glibc keeps memory that Python and the native libraries free (decoded frames, HTTP bodies,
ticket images) inside its heaps for reuse. Two remedies: `malloc_trim(0)` returns the free
pages to the kernel (a few milliseconds, run on the UI thread while nobody is being served);
and a fixed mmap threshold, so every camera frame (640x480 BGR is 900 KiB) gets its own mapping
that goes back to the kernel when freed, instead of glibc raising the threshold after the first
frames and keeping them in a heap that only grows.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


M_MMAP_THRESHOLD = -3  # mallopt() parameter number, from glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except (OSError, TypeError):
        return None


def map_large_blocks() -> bool:
    """Allocate blocks of MMAP_THRESHOLD bytes and more with mmap, always; False where the C
    library cannot be told (not glibc)."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:  # not glibc (musl, macOS): nothing to do
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return free heap pages to the kernel; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
