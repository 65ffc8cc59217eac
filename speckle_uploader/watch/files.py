"""What is in a watched folder: the files a rule would publish, with what tells they changed.

Lock, temp and backup files are left alone, and so is what the app writes itself. Online-only placeholders of
cloud-synced folders (OneDrive, Dropbox, iCloud) are never read (reading one downloads it behind the user's
back): they are reported as "not on this computer". Symlinks are not followed out of the folder.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from speckle_uploader.platform_files import long_path

# Lock, temp and backup files of the programs that export models, and the desktop's own litter.
DEFAULT_IGNORED = (
    "~$*", ".~lock.*", "*.tmp", "*.temp", "*.bak", "*.dwl", "*.dwl2", "*.swp", "*.part", "*.crdownload",
    "*.[0-9][0-9][0-9][0-9].rvt", "*.[0-9][0-9][0-9][0-9].rfa",  # Revit's numbered backups
    "*.bpn", "*.lck", "*.bkf",  # Archicad's backups and locks
    "*.ifc.lock", "*.lock", "Thumbs.db", "desktop.ini", ".DS_Store",
)

# Windows: FILE_ATTRIBUTE_OFFLINE, RECALL_ON_OPEN, RECALL_ON_DATA_ACCESS; macOS: SF_DATALESS.
_WINDOWS_PLACEHOLDER = 0x1000 | 0x40000 | 0x400000
_MAC_DATALESS = 0x40000000


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    placeholder: bool = False  # online-only: not on this computer

    @property
    def signature(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)


def is_placeholder(info: os.stat_result) -> bool:
    attributes = getattr(info, "st_file_attributes", 0)
    flags = getattr(info, "st_flags", 0)
    return bool(attributes & _WINDOWS_PLACEHOLDER) or bool(sys.platform == "darwin" and flags & _MAC_DATALESS)


def is_ignored(name: str, ignored: Iterable[str] = DEFAULT_IGNORED) -> bool:
    lowered = name.lower()
    return name.startswith(".") or any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in ignored)


def matches(name: str, patterns: Iterable[str]) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def scan(folder: Path, patterns: list[str], *, subfolders: bool = True, own_folders: Iterable[Path] = (),
         limit: int = 200_000) -> dict[Path, FileState]:
    """The files under ``folder`` a rule would publish. Raises OSError when the folder itself is gone."""
    try:
        root = folder.resolve()
    except OSError:  # Wine past 260 characters, a share half gone: walk it as given
        root = folder.absolute()
    skip = {p.resolve() for p in own_folders}
    found: dict[Path, FileState] = {}
    pending = [root]
    root.stat()  # the folder must be there: a missing share is not an empty folder
    while pending and len(found) < limit:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            if current == root:
                raise
            continue  # a subfolder that vanished or is not readable: the rest goes on
        for entry in entries:
            name = entry.name
            if is_ignored(name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if subfolders and Path(entry.path) not in skip:
                        pending.append(Path(entry.path))
                    continue
                if not matches(name, patterns):
                    continue
                if entry.is_symlink() and not _inside(Path(entry.path), root):
                    continue  # never publish what a link in a shared folder points to elsewhere
                info = entry.stat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            # Named under the folder as the rule gives it (a link or a mapped drive stays what the user chose):
            # the rule's relative paths, model names and notifications all speak of that form.
            found[folder / Path(entry.path).relative_to(root)] = FileState(info.st_size, info.st_mtime_ns,
                                                                           is_placeholder(info))
    return found


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True


def stat_file(path: Path) -> FileState | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return FileState(info.st_size, info.st_mtime_ns, is_placeholder(info))


def can_read_now(path: Path) -> bool:
    """False while another program still has the file open for writing. On Windows an open that lets others
    only read fails with a sharing violation then (an export in progress); elsewhere nothing tells, and the
    settling time is what protects."""
    if sys.platform != "win32":
        return True
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    kernel32.CreateFileW.restype = ctypes.c_void_p
    generic_read, file_share_read, open_existing = 0x80000000, 0x1, 3
    handle = kernel32.CreateFileW(long_path(path), generic_read, file_share_read, None, open_existing, 0, None)
    if handle in (None, ctypes.c_void_p(-1).value):
        return False  # sharing violation (32) or gone: look again later
    kernel32.CloseHandle(ctypes.c_void_p(handle))
    return True


Readiness = Callable[[Path], bool]
