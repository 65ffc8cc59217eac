"""What is refused before a byte is sent, and how sizes read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from speckle_uploader.formatting import human_size
from speckle_uploader.speckle.errors import FileProblemError, FileTooLargeError, UnsupportedFileTypeError
from speckle_uploader.speckle.file_rules import ACCEPTED_EXTENSIONS, check_file
from speckle_uploader.speckle.models import ServerKind
from tests.conftest import write

CLOUD = frozenset(ACCEPTED_EXTENSIONS[ServerKind.CLOUD_INGESTION])
LIMIT = 100 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "kind", "accepted"),
    [("a.IFC", ServerKind.FILE_IMPORT, True), ("a.rvt", ServerKind.CLOUD_INGESTION, True),
     ("a.rvt", ServerKind.FILE_IMPORT, False), ("a.stl", ServerKind.LEGACY_REST, True),
     ("a.stl", ServerKind.CLOUD_INGESTION, False), ("a.ifczip", ServerKind.CLOUD_INGESTION, False),
     # startFileImport's next-gen importer (upstream's default) takes IFC only; the old REST one more
     ("a.obj", ServerKind.FILE_IMPORT, False), ("a.stl", ServerKind.FILE_IMPORT, False),
     ("a.obj", ServerKind.LEGACY_REST, True)],
)
def test_types_per_server_kind(tmp_path: Path, name: str, kind: ServerKind, accepted: bool) -> None:
    path = write(tmp_path / name, b"data")
    if accepted:
        assert check_file(path, frozenset(ACCEPTED_EXTENSIONS[kind]), LIMIT) == 4
    else:
        with pytest.raises(UnsupportedFileTypeError, match="does not import"):
            check_file(path, frozenset(ACCEPTED_EXTENSIONS[kind]), LIMIT)
        assert check_file(path, None, LIMIT) == 4  # the user's override


def test_problems(tmp_path: Path) -> None:
    with pytest.raises(FileProblemError, match="No such file"):
        check_file(tmp_path / "gone.ifc", CLOUD, LIMIT)
    with pytest.raises(FileProblemError, match="folder"):
        check_file(tmp_path, CLOUD, LIMIT)
    with pytest.raises(FileProblemError, match="empty"):
        check_file(write(tmp_path / "e.ifc", b""), CLOUD, LIMIT)
    with pytest.raises(UnsupportedFileTypeError, match="no extension"):
        check_file(write(tmp_path / "README", b"x"), CLOUD, LIMIT)
    with pytest.raises(FileTooLargeError, match=r"The file is 11 bytes, over this server's limit of 10 bytes"):
        check_file(write(tmp_path / "big.ifc", b"x" * 11), CLOUD, 10)
    fifo = tmp_path / "pipe.ifc"
    os.mkfifo(fifo)
    with pytest.raises(FileProblemError, match="not a regular file"):
        check_file(fifo, CLOUD, LIMIT)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.ifc", b"x")
    path.chmod(0)
    with pytest.raises(FileProblemError, match="cannot be read"):
        check_file(path, CLOUD, LIMIT)


def test_unreadable_as_the_os_reports_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.ifc", b"x")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(FileProblemError, match=r"cannot be read \(Permission denied\)"):
        check_file(path, CLOUD, LIMIT)


def test_human_sizes() -> None:
    assert human_size(0) == "0 bytes"
    assert human_size(2175) == "2.1 KB"
    assert human_size(100 * 1024 * 1024) == "100 MB"
    assert human_size(3 * 1024**3) == "3 GB"
