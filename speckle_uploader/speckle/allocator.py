"""Keep glibc from handing upload buffers back to the kernel between chunks (Linux only).

Every chunk of an upload is a fresh ``bytes`` of about a megabyte (httpx sends only ``bytes`` without a
copy). glibc trims its heap whenever the free space at its top exceeds the trim threshold, which its
dynamic rule sets to twice the largest mapped block freed so far (2 MiB here); with several uploads at
once, chunks freed together leave more than that at the top, the heap is trimmed, and the next chunk's
read faults in fresh zeroed pages: 30-60 thousand page faults per 500 MiB, a fifth to a quarter of the
CPU the engine spent on 100 files of 5 MiB (benchmarks/README.md, "Many small files"). Fixing the
thresholds where glibc's own dynamic rule would put them after freeing one 4 MiB block keeps those pages
in the process: the heap keeps at most ``TRIM_THRESHOLD`` (8 MiB) free at its top, about what four
uploads hold in flight; 2/4 MiB was not enough (16-30 thousand faults), 8/16 MiB did no better than 4/8.

Other C libraries (musl, macOS, Windows) are left alone: nothing here is measured on them.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 1024 * 1024  # blocks this large or larger get their own mapping, as before
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

_tuned: bool | None = None  # None: not tried yet; one attempt per process


def keep_upload_buffers() -> bool:
    """Set glibc's thresholds once per process; return whether they are set. Cheap to call per upload."""
    global _tuned
    if _tuned is None:
        _tuned = _set_thresholds()
    return _tuned


def _set_thresholds() -> bool:
    if sys.platform != "linux" or not _glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    except (OSError, AttributeError):
        ok = False
    if not ok:
        log.debug("glibc mallopt refused; upload buffers follow the default thresholds")
    return ok


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):
        return False
