"""Handing freed memory back to the system (glibc's malloc), for a long-lived small process.

The coach allocates most of what it needs once (the Vosk model, ~125 MB) and
then runs for days as the Pi service. Bursts of temporary arrays (loading and
converting clips, rendering speech on a worker thread) are freed, but glibc
keeps the freed pages in its heaps, where they stay resident. :func:`trim`
(``malloc_trim(0)``) returns the free pages of every heap to the kernel; it is
called at the few points where such a burst has just ended, never on the audio
path.

Elsewhere than glibc (musl, macOS) these are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    return libc


def trim() -> bool:
    """Return the free pages of every malloc heap to the kernel; False if not glibc."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
