"""The installable app: the PyInstaller bundle builds, stays small, passes its self-test and opens its window."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(importlib.util.find_spec("PyInstaller") is None or not sys.platform.startswith("linux"),
                                reason="needs PyInstaller, on Linux")

SIZE_LIMIT = 120 * 1024 * 1024


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(dist),
         "--workpath", str(ROOT / "build" / "pyinstaller-test"), str(ROOT / "pyinstaller.spec")],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    yield dist / "Speckle Uploader"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_bundle_is_small_and_trimmed(bundle: Path) -> None:
    assert folder_size(bundle) < SIZE_LIMIT
    internal = bundle / "_internal"
    assert not list(internal.rglob("*Qt6Qml*")) and not list(internal.rglob("*.qm"))
    bundled = (ROOT / "build" / "pyinstaller-test" / "pyinstaller" / "PYZ-00.toc").read_text()
    assert "'keyring.backends.SecretService'" in bundled
    assert "keyrings.alt" not in bundled  # never a plain-text keyring
    assert "'pygments" not in bundled  # httpx's optional command line stays out
    assert (internal / "resources" / "samples" / "simple-wall.ifc").is_file()


def test_frozen_selftest(bundle: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    result = subprocess.run([str(bundle / "speckle-uploader"), "--selftest"], capture_output=True, text=True,
                            timeout=120, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test (bundle)" in result.stdout
    assert "ok   upload:" in result.stdout and "self-test passed" in result.stdout


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run")
def test_frozen_window_opens_under_xvfb(bundle: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    result = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", str(bundle / "speckle-uploader"),
                             "--demo", "--quit-after", "3"], capture_output=True, text=True, timeout=120, env=env,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "window shown: True 1240x760 platform xcb signed in: Alex Morgan" in result.stdout
