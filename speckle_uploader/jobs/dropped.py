"""What a drop of files and folders means: the files to queue, folders opened to the files the server takes."""

from __future__ import annotations

import os
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from pathlib import Path

from speckle_uploader.speckle import extension


def expand_dropped(paths: Iterable[Path], accepted: AbstractSet[str], *, limit: int = 10_000) -> list[Path]:
    """Files as given (a file the server refuses still becomes a job that says why); folders walked for
    files with an accepted extension, hidden ones skipped, symlinked folders not followed (no loops)."""
    result: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.absolute()
        if key not in seen and len(result) < limit:
            seen.add(key)
            result.append(path)

    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    candidate = Path(folder) / name
                    if not name.startswith(".") and extension(candidate) in accepted:
                        add(candidate)
        else:
            add(path)
    return result
