"""What a drop of files and folders means: the files to queue, folders opened to the files the server takes.

Walking a folder reads the disk (``/usr`` takes seconds), so callers with a window run :func:`expand_dropped`
in a worker thread; it stops at ``limit`` files and says so. A folder shared with others may hold links:
a link inside a dropped folder is followed only when it leads to a file inside that same folder (a
``site.ifc -> /etc/shadow`` or ``notes.obj -> ~/.ssh/id_ed25519`` is skipped and counted), and linked
folders are never entered (no loops, no escape).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from speckle_uploader.speckle import extension

LIMIT = 10_000

HIDDEN = "hidden"
OTHER_TYPE = "not a type this server imports"
OUTSIDE_LINK = "a link to somewhere outside the folder"
LINKED_FOLDER = "a linked folder (not opened)"
UNREADABLE = "a folder that could not be read"


@dataclass
class Dropped:
    files: list[Path] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> how many
    stopped_at_limit: bool = False
    limit: int = LIMIT

    def note(self) -> str:
        """One line about what was left out and why ("" when nothing was)."""
        parts = []
        if self.stopped_at_limit:
            parts.append(f"Only the first {self.limit:,} files were added (the most one drop takes); "
                         "drop the rest in smaller folders.")
        if self.skipped:
            reasons = ", ".join(f"{count:,} {'is' if count == 1 else 'are'} {reason}"
                                for reason, count in self.skipped.most_common())
            total = sum(self.skipped.values())
            parts.append(f"Skipped {total:,} {'file' if total == 1 else 'files'} in the folders: {reasons}.")
        return " ".join(parts)


def expand_dropped(paths: Iterable[Path], accepted: AbstractSet[str], *, limit: int = LIMIT,
                   stop: threading.Event | None = None) -> Dropped:
    """Files as given (a file the server refuses still becomes a job that says why); folders walked for files
    with an accepted extension. Stops at ``limit`` files, or when ``stop`` is set."""
    result = Dropped(limit=limit)
    seen: set[Path] = set()

    def add(path: Path) -> bool:
        """False once the limit is reached."""
        if len(result.files) >= limit:
            result.stopped_at_limit = True
            return False
        key = path.absolute()
        if key not in seen:
            seen.add(key)
            result.files.append(path)
        return True

    for path in paths:
        if stop is not None and stop.is_set():
            break
        if path.is_dir():  # a link the user dropped themselves (a shortcut to a project folder) is theirs
            if not _walk(path, accepted, result, add, stop):
                break
        elif not add(path):
            break
    return result


def _walk(root: Path, accepted: AbstractSet[str], result: Dropped, add: Callable[[Path], bool],
          stop: threading.Event | None) -> bool:
    """Walk one dropped folder; False when the limit (or ``stop``) ended the walk."""
    real_root: list[Path | None] = []  # resolved only when a link needs it (a long path may not resolve)
    problems: list[OSError] = []
    for folder, dirs, files in os.walk(root, followlinks=False, onerror=problems.append):
        if stop is not None and stop.is_set():
            return False
        base = Path(folder)
        kept = []
        for name in sorted(dirs):
            if name.startswith("."):
                result.skipped[HIDDEN] += 1
            elif (base / name).is_symlink():
                result.skipped[LINKED_FOLDER] += 1
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            candidate = base / name
            if name.startswith("."):
                result.skipped[HIDDEN] += 1
            elif extension(candidate) not in accepted:
                result.skipped[OTHER_TYPE] += 1
            elif candidate.is_symlink() and not _inside(candidate, _resolved(root, real_root)):
                result.skipped[OUTSIDE_LINK] += 1
            elif not add(candidate):
                return False
    if problems:
        result.skipped[UNREADABLE] += len(problems)
    return True


def _resolved(root: Path, cache: list[Path | None]) -> Path | None:
    if not cache:
        try:
            cache.append(root.resolve())
        except OSError:  # cannot tell where the folder really is: no link out of it is trusted
            cache.append(None)
    return cache[0]


def _inside(link: Path, real_root: Path | None) -> bool:
    if real_root is None:
        return False
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, or a loop of links
        return False
    return target.is_relative_to(real_root) and target.is_file()
