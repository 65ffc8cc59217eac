"""The queue is the user's: pause and resume (button and tray), the batch line, the speed limit, retry failed,
a filter, and closing with work in progress (keep going in the background, or quit)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from speckle_uploader.jobs import JobState
from speckle_uploader.jobs.queue import PAUSED
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.ui import main_window as main_window_module
from speckle_uploader.ui.closing import CloseChoice, sentence
from speckle_uploader.ui.main_window import MainWindow
from speckle_uploader.ui.queue_bar import SPEED_SETTING
from speckle_uploader.ui.tray import Tray
from tests.conftest import SAMPLES
from tests.keyrings import MemoryKeyring
from tests.ui.test_window import choose, jobs_final, signed_in


def samples(tmp_path: Path, count: int) -> list[Path]:
    return [Path(shutil.copy(SAMPLES / "simple-wall.ifc", tmp_path / f"wall-{i}.ifc")) for i in range(count)]


def test_pause_and_resume_the_whole_queue(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                          memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", "architecture")
    window.tray.pause_action.trigger()  # from the tray's menu, as from the button
    assert window.queue_bar.pause_button.isChecked() and window.context.queue is not None
    assert window.context.queue.paused and window.tray.resume_action.isVisible()
    jobs = window.add_paths(samples(tmp_path, 3))
    qtbot.waitUntil(lambda: all(job.message == PAUSED for job in jobs), timeout=5000)
    qtbot.waitUntil(lambda: window.queue_bar.line.text().startswith("Paused: 3 files are waiting"), timeout=2000)
    assert "0 of 3 files finished" in window.queue_bar.line.text()
    assert not any(r.method == "PUT" for r in cloud_sandbox.sandbox.requests)
    window.queue_bar.pause_button.click()
    assert not window.context.queue.paused and window.tray.pause_action.isVisible()
    qtbot.waitUntil(lambda: jobs_final(window), timeout=15000)
    assert {job.state for job in jobs} == {JobState.SUCCESS}
    qtbot.waitUntil(lambda: window.queue_bar.line.text().startswith("3 of 3 files finished"), timeout=2000)
    size = jobs[0].size * 3
    assert f"{size / 1024:.1f} KB of {size / 1024:.1f} KB sent".replace(".0 ", " ") in window.queue_bar.line.text()


def test_retry_failed_and_filter(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                 memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", "architecture")
    store = cloud_sandbox.sandbox.store
    store.forced_outcomes["wall-1.ifc"] = ("failed", "The importer crashed")
    store.forced_outcomes["wall-2.ifc"] = ("failed", "The importer crashed")
    window.add_paths(samples(tmp_path, 3))
    qtbot.waitUntil(lambda: jobs_final(window), timeout=15000)
    qtbot.waitUntil(lambda: "3 of 3 files finished (2 failed)" in window.queue_bar.line.text(), timeout=2000)
    assert window.queue_bar.retry_failed.isEnabled()

    window.queue_bar.filter.setText("crashed")
    hidden = [window.table.isRowHidden(row) for row in range(3)]
    assert hidden == [True, False, False]
    window.queue_bar.filter.setText("")
    assert not any(window.table.isRowHidden(row) for row in range(3))

    store.forced_outcomes.clear()
    retried = window.retry_failed()
    assert sorted(job.file_name for job in retried) == ["wall-1.ifc", "wall-2.ifc"]
    qtbot.waitUntil(lambda: jobs_final(window), timeout=15000)
    assert {job.state for job in window.table_model.jobs} == {JobState.SUCCESS}


def test_the_speed_limit_is_applied_and_remembered(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                                   memory_keyring: MemoryKeyring) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    speed = window.queue_bar.speed
    speed.setCurrentIndex(speed.findText("Up to 1 MB/s"))
    assert window.context.queue is not None and window.context.queue.bandwidth.limit == 1024 ** 2
    assert float(window.context.settings.value(SPEED_SETTING)) == 1024 ** 2
    # A new session starts with the remembered limit.
    window.queue_bar.attach(window.context.queue)
    assert window.context.queue.bandwidth.limit == 1024 ** 2
    speed.setCurrentIndex(0)
    assert window.context.queue.bandwidth.limit is None


def test_closing_with_work_in_progress(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                       memory_keyring: MemoryKeyring, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", "architecture")
    try:
        window.pause_all()
        window.add_paths(samples(tmp_path, 1))
        assert window.keeps_working_reasons() == ["1 file is still on its way"]
        asked: list[tuple[list[str], bool]] = []
        answers = [CloseChoice.STAY, CloseChoice.BACKGROUND, CloseChoice.QUIT]

        def answer(_parent: object, reasons: list[str], *, can_background: bool) -> CloseChoice:
            asked.append((reasons, can_background))
            return answers.pop(0)

        monkeypatch.setattr(main_window_module, "ask_on_close", answer)
        monkeypatch.setattr(Tray, "available", property(lambda _self: True))  # offscreen has no tray
        closed: list[bool] = []
        window.closed.connect(lambda: closed.append(True))
        window.allow_close = False
        window.close()
        assert window.isVisible() and not closed  # Cancel: nothing happens
        window.close()
        assert not window.isVisible() and not closed  # in the background: the app goes on
        window.quit_app()  # the tray's Quit: no background offered this time
        assert closed == [True]
        assert asked == [(["1 file is still on its way"], True)] * 2 + [(["1 file is still on its way"], False)]
    finally:
        window.allow_close = True  # a close at teardown must never ask (offscreen, nobody would answer)
    assert sentence(["1 file is still on its way", "3 folders are watched"]) == \
        "1 file is still on its way; 3 folders are watched."


def test_the_tray_menu_takes_extra_entries(window: MainWindow) -> None:
    texts = [action.text() for action in window.tray.menu.actions() if not action.isSeparator()]
    assert texts == ["Open Speckle Uploader", "Pause all uploads", "Resume all uploads", "Watched folders…",
                     "Pause all watched folders", "Resume all watched folders", "Quit"]
    extra = QAction("Watched folders…", window)
    window.tray.add_action(extra)
    actions = [action for action in window.tray.menu.actions() if not action.isSeparator()]
    assert actions[-2] is extra and actions[-1] is window.tray.quit_action


def test_the_window_fits_its_screen_and_the_pickers_fold(window: MainWindow) -> None:
    screen = window.screen()
    assert screen is not None
    room = screen.availableGeometry()
    assert window.width() <= max(room.width(), window.minimumWidth())
    assert window.height() <= max(room.height(), window.minimumHeight())
    assert window.minimumWidth() <= 720  # fits 1280x720 logical pixels with room for the desktop's panels
    assert window.splitter.isCollapsible(0) and not window.splitter.isCollapsible(1)
