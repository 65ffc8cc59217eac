"""Windows file questions: long paths written in the \\\\?\\ form, and files still open in their exporter.
The sharing-violation check itself runs under Wine in packaging/windows/ci.sh (wine_checks.py); here, what
every system can check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from speckle_uploader.platform_files import is_file_ready, long_path

DEEP = "\\".join(["Project Tower A - Coordination exports"] * 8)  # 8 x 38 characters


def test_short_windows_paths_stay_as_they_are() -> None:
    assert long_path(r"C:\Exports\tower.ifc", platform="win32") == r"C:\Exports\tower.ifc"
    assert long_path("C:/Exports/tower.ifc", platform="win32") == r"C:\Exports\tower.ifc"
    assert long_path(r"\\fileserver\bim\tower.ifc", platform="win32") == r"\\fileserver\bim\tower.ifc"


def test_long_drive_and_unc_paths_get_the_extended_prefix() -> None:
    drive = "C:\\" + DEEP + "\\tower.ifc"
    assert len(drive) > 260
    assert long_path(drive, platform="win32") == "\\\\?\\" + drive
    unc = "\\\\fileserver\\bim\\" + DEEP + "\\tower.ifc"
    assert long_path(unc, platform="win32") == "\\\\?\\UNC\\fileserver\\bim\\" + DEEP + "\\tower.ifc"
    already = "\\\\?\\" + drive
    assert long_path(already, platform="win32") == already


def test_other_systems_paths_are_untouched() -> None:
    assert long_path("/srv/" + "a" * 300, platform="linux") == "/srv/" + "a" * 300


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the answer depends on share modes")
def test_files_are_always_ready_where_no_share_modes_exist(tmp_path: Path) -> None:
    path = tmp_path / "open.ifc"
    with path.open("wb") as still_writing:
        still_writing.write(b"ISO-10303-21;")
        assert is_file_ready(path)
    assert is_file_ready(tmp_path / "missing.ifc")
