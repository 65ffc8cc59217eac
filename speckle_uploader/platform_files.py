"""Files as Windows sees them; no Qt.

``is_file_ready(path)``: is a file finished, or still open in the program writing it? On Windows, an exporter
(Revit, ArchiCAD, Tekla) keeps its output open while it writes; opening it then for reading *with no
sharing* fails with a sharing violation. The watcher asks before it queues a file and asks again later
instead of failing. Elsewhere files are not locked that way, and the answer is always True (the watcher's
own wait for the size to settle covers those systems).

``long_path(path)``: a Windows path in the ``\\\\?\\`` form that passes the 260-character limit (MAX_PATH)
whatever the system's LongPathsEnabled setting says; drive paths become ``\\\\?\\C:\\...`` and UNC shares
``\\\\?\\UNC\\server\\share\\...``. Other systems' paths are returned unchanged.
"""

from __future__ import annotations

import ntpath
import os
import sys

MAX_PATH = 260
ERROR_SHARING_VIOLATION = 32
ERROR_LOCK_VIOLATION = 33


def long_path(path: str | os.PathLike[str], platform: str = sys.platform) -> str:
    text = os.fspath(path)
    if platform != "win32" or text.startswith("\\\\?\\"):
        return text
    absolute = ntpath.normpath(ntpath.abspath(text) if platform == sys.platform else text)
    if len(absolute) < MAX_PATH - 12:  # room for an 8.3 name, as CreateDirectory's own limit counts
        return absolute
    if absolute.startswith("\\\\"):  # \\server\share\...
        return "\\\\?\\UNC\\" + absolute[2:]
    if ntpath.splitdrive(absolute)[0]:
        return "\\\\?\\" + absolute
    return absolute


def is_file_ready(path: str | os.PathLike[str]) -> bool:
    """False while another program holds the file open in a way that forbids sharing it (Windows); else True.

    A file that does not exist or cannot be read for another reason counts as ready: reading it will then
    fail with the real reason, which the job shows.
    """
    if sys.platform == "win32":
        return _open_exclusively(long_path(path)) not in (ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION)
    return True


def _open_exclusively(path: str) -> int:
    """Open for reading with share mode 0 and close again; the Windows error code, 0 when it opened."""
    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        create_file = kernel32.CreateFileW
        create_file.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, wintypes.LPVOID,
                                wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
        create_file.restype = wintypes.HANDLE
        close_handle = kernel32.CloseHandle
        close_handle.argtypes = [wintypes.HANDLE]
        close_handle.restype = wintypes.BOOL
        generic_read, no_sharing, open_existing, normal = 0x80000000, 0, 3, 0x80
        handle = create_file(path, generic_read, no_sharing, None, open_existing, normal, None)
        if handle is None or handle == wintypes.HANDLE(-1).value:
            return ctypes.get_last_error()
        close_handle(handle)
        return 0
    raise OSError("share modes exist only on Windows")
