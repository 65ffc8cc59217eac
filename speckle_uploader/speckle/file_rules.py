"""Which local files a server will take, checked before a byte is sent.

No query tells which extensions a server imports; these lists come from the servers' code and docs
(research, section g). The server's own ``UNSUPPORTED_FILE_TYPE`` stays the last word, and a user can
switch the type check off for a list that went stale.
"""

from __future__ import annotations

from pathlib import Path

from speckle_uploader.formatting import human_size
from speckle_uploader.speckle.errors import FileProblemError, FileTooLargeError, UnsupportedFileTypeError
from speckle_uploader.speckle.models import ServerKind

CLOUD_EXTENSIONS = frozenset(
    {"ifc", "rvt", "nwc", "nwd", "dwg", "3dm", "obj", "skp", "step", "stp", "dgn", "vwx", "smc"}
)
OPEN_SOURCE_EXTENSIONS = frozenset({"ifc", "stl", "obj"})  # the old importer (servers before 2.25.8)
# Servers with ``startFileImport`` run the next-gen importer by default (FF_NEXT_GEN_FILE_IMPORTER_ENABLED=true
# since 2.25.8, Speckle's "self-hosted: IFC only"), whose ``startFileImport`` refuses everything else with
# UNSUPPORTED_FILE_TYPE *after* the bytes were stored: a wasted upload. Seen on a real 2.31.14 server.
NEXT_GEN_EXTENSIONS = frozenset({"ifc"})

ACCEPTED_EXTENSIONS: dict[ServerKind, frozenset[str]] = {
    ServerKind.CLOUD_INGESTION: CLOUD_EXTENSIONS,
    ServerKind.FILE_IMPORT: NEXT_GEN_EXTENSIONS,
    ServerKind.LEGACY_REST: OPEN_SOURCE_EXTENSIONS,
}


def extension(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def accepted_extensions(kind: ServerKind) -> set[str]:
    """What a server of this kind is known to import (a session keeps its own copy, and learns from refusals)."""
    return set(ACCEPTED_EXTENSIONS[kind])


def check_file(path: Path, accepted: frozenset[str] | None, size_limit: int) -> int:
    """Return the file's size if the server should take it; raise a typed error saying why not.
    ``accepted`` None: any type (the server decides)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise FileProblemError("No such file (it was moved or deleted?).") from None
    except OSError as exc:
        raise FileProblemError(f"The file cannot be read ({exc.strerror}).") from None
    if path.is_dir():
        raise FileProblemError("This is a folder; add the files inside it instead.")
    if not path.is_file():
        raise FileProblemError("This is not a regular file.")
    if stat.st_size == 0:
        raise FileProblemError("The file is empty (0 bytes); there is nothing to import.")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise FileProblemError(f"The file cannot be read ({exc.strerror or exc}).") from None
    ext = extension(path)
    if not ext:
        raise UnsupportedFileTypeError("The file name has no extension; the server needs one to know the format.")
    if accepted is not None and ext not in accepted:
        raise UnsupportedFileTypeError(
            f"This server does not import .{ext} files (it takes {', '.join('.' + e for e in sorted(accepted))})."
        )
    if size_limit and stat.st_size > size_limit:
        raise FileTooLargeError(
            f"The file is {human_size(stat.st_size)}, over this server's limit of {human_size(size_limit)}."
        )
    return stat.st_size
