"""Results you can reach: Copy link, a copied message that carries the link, and opening that fails says so
(and copies the link) instead of doing nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from speckle_uploader.jobs import JobState
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.ui.main_window import MainWindow
from tests.conftest import SAMPLES
from tests.keyrings import MemoryKeyring
from tests.ui.test_window import choose, jobs_final, signed_in


def test_copy_link_and_opening_that_fails(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                          memory_keyring: MemoryKeyring, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", "architecture")
    window.add_paths([Path(shutil.copy(SAMPLES / "simple-wall.ifc", tmp_path / "wall.ifc"))])
    qtbot.waitUntil(lambda: jobs_final(window), timeout=15000)
    job = window.table_model.jobs[0]
    assert job.state is JobState.SUCCESS
    url = job.version_url(cloud_sandbox.url)
    assert url is not None
    window.select_row(0)
    actions = window.row_actions
    assert actions.link.isEnabled()
    actions.link.trigger()
    assert QApplication.clipboard().text() == url
    assert window.statusBar().currentMessage() == "Link copied."

    actions.copy.trigger()
    assert QApplication.clipboard().text().endswith(url)
    assert window.statusBar().currentMessage() == "Message copied."

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda qurl: opened.append(qurl.toString()) and False)
    QApplication.clipboard().setText("")
    actions.open.trigger()
    assert opened == [url] and QApplication.clipboard().text() == url
    assert "No web browser answered" in window.statusBar().currentMessage()
    actions.folder.trigger()
    assert "No file manager answered" in window.statusBar().currentMessage()
    assert QApplication.clipboard().text() == str(tmp_path)
