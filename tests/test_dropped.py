"""A dropped folder: only the files the server takes, no link leading outside the folder, and a walk that stops
at the limit and says so."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from speckle_uploader.jobs.dropped import HIDDEN, LINKED_FOLDER, OTHER_TYPE, OUTSIDE_LINK, expand_dropped
from tests.conftest import write as write_file

ACCEPTED = {"ifc", "obj"}


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_file(path, content)


needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt",
                                    reason="symbolic links need a POSIX file system here")


@needs_symlinks
def test_links_leading_outside_are_never_followed(tmp_path: Path) -> None:
    secret = write(tmp_path / "private" / "id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----")
    shared = tmp_path / "shared"
    write(shared / "model.ifc", "ISO-10303-21;")
    write(shared / "sub" / "real.obj", "v 0 0 0")
    (shared / "site.ifc").symlink_to(secret)  # a shared folder trying to make us upload a key
    (shared / "notes.obj").symlink_to(tmp_path / "nowhere")  # dangling
    (shared / "copy.ifc").symlink_to(shared / "model.ifc")  # inside: fine
    (shared / "loop").symlink_to(shared)  # a linked folder: never entered
    (shared / "away").symlink_to(tmp_path / "private")
    write(shared / ".hidden.ifc", "x")
    write(shared / "readme.txt", "x")
    dropped = expand_dropped([shared], ACCEPTED)
    names = sorted(p.relative_to(shared).as_posix() for p in dropped.files)
    assert names == ["copy.ifc", "model.ifc", "sub/real.obj"]
    assert dropped.skipped == {OUTSIDE_LINK: 2, LINKED_FOLDER: 2, HIDDEN: 1, OTHER_TYPE: 1}
    note = dropped.note()
    assert "Skipped 6 files" in note and "2 are a link to somewhere outside the folder" in note
    assert not dropped.stopped_at_limit


def test_the_walk_stops_at_the_limit_and_says_so(tmp_path: Path) -> None:
    for i in range(30):
        write(tmp_path / "big" / f"{i:02d}" / f"m{i}.ifc", "x")
    visited: list[str] = []
    real_walk = os.walk

    def counting_walk(top: str | Path, **kwargs: object):  # type: ignore[no-untyped-def]
        for entry in real_walk(top, **kwargs):  # type: ignore[call-overload]
            visited.append(entry[0])
            yield entry

    os.walk, saved = counting_walk, os.walk  # type: ignore[assignment]
    try:
        dropped = expand_dropped([tmp_path / "big"], ACCEPTED, limit=10)
    finally:
        os.walk = saved
    assert len(dropped.files) == 10 and dropped.stopped_at_limit
    assert len(visited) <= 12  # the walk ended there, not after the whole tree
    assert "Only the first 10 files were added" in dropped.note()


def test_a_set_stop_ends_the_walk(tmp_path: Path) -> None:
    write(tmp_path / "a" / "m.ifc", "x")
    stop = threading.Event()
    stop.set()
    assert expand_dropped([tmp_path / "a"], ACCEPTED, stop=stop).files == []


def test_files_dropped_by_name_are_kept_as_given(tmp_path: Path) -> None:
    odd = write(tmp_path / "drawing.dwg", "x")
    dropped = expand_dropped([odd, odd], ACCEPTED)
    assert dropped.files == [odd] and dropped.note() == ""
