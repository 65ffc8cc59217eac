"""One window per user: a second launch (a real second process, as "Open with" starts it) hands its files to
the running window and exits; with no window answering, a launch becomes the window (files never dropped)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from speckle_uploader import instance
from speckle_uploader.app_dirs import HOME_ENV
from speckle_uploader.instance import InstanceServer, hand_over
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.ui.main_window import MainWindow
from tests.conftest import ROOT, SAMPLES
from tests.keyrings import MemoryKeyring
from tests.ui.test_window import choose, signed_in

pytestmark = pytest.mark.skipif(not instance.SUPPORTED, reason="single instance uses Unix-domain sockets")


def test_a_second_launch_hands_its_files_over(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                              memory_keyring: MemoryKeyring, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", "architecture")
    server = InstanceServer(window.receive_from_launch)
    started = asyncio.ensure_future(server.start())
    qtbot.waitUntil(started.done, timeout=5000)
    assert started.result() and instance.socket_path().stat().st_mode & 0o077 == 0  # this user only
    sample = Path(shutil.copy(SAMPLES / "simple-wall.ifc", tmp_path / "opened.ifc"))
    env = {**os.environ, HOME_ENV: str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    second = subprocess.Popen([sys.executable, "-c", "import sys; from speckle_uploader.cli import main; "
                               "sys.exit(main(sys.argv[1:]))", str(sample)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=30000)
    finally:
        if second.poll() is None:
            second.kill()
    out, err = second.communicate(timeout=10)
    assert second.returncode == 0, err
    assert "already open: 1 file handed to it" in out
    qtbot.waitUntil(lambda: window.table_model.rowCount() == 1, timeout=5000)
    assert window.table_model.jobs[0].path == sample
    qtbot.waitUntil(lambda: window.table_model.jobs[0].state.is_final, timeout=15000)
    closing = asyncio.ensure_future(server.close())
    qtbot.waitUntil(closing.done, timeout=5000)
    assert not instance.socket_path().exists()


def test_nobody_answering_means_this_launch_is_the_window(tmp_path: Path) -> None:
    stale = tmp_path / "instance.sock"
    assert hand_over([SAMPLES / "simple-wall.ifc"], stale) is False  # no socket at all
    stale.write_text("left by a crash")
    assert hand_over([SAMPLES / "simple-wall.ifc"], stale) is False  # a file nobody listens on

    async def become_the_window() -> bool:
        server = InstanceServer(lambda files: None, stale)
        try:
            return await server.start()
        finally:
            await server.close()

    assert asyncio.run(become_the_window())
