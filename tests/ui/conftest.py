"""Qt fixtures: a qasync loop marked running (as under app.exec()), so @async_slot tasks advance whenever
qtbot waits; see shared/examples/qasync_conftest.py for why each step is there."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from speckle_uploader.credentials import CredentialStore
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.main_window import MainWindow
from tests.keyrings import MemoryKeyring


@pytest.fixture
def running_qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    deadline = time.monotonic() + 2
    while any(not t.done() for t in pending) and time.monotonic() < deadline:
        qapp.processEvents()
    loop.stop()  # calls app.exit() outside exec(): one real exec() cycle clears Qt's quit flag again
    QTimer.singleShot(0, qapp.quit)
    qapp.exec()
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def _collect_garbage_between_tests() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def context(tmp_path: Path, memory_keyring: MemoryKeyring) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(CredentialStore(), settings, history_path=tmp_path / "history.sqlite3")


@pytest.fixture
def window(qtbot, context: AppContext, running_qloop: qasync.QEventLoop) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    main = MainWindow(context)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.allow_close = True
    shutdown = asyncio.ensure_future(context.shutdown())
    qtbot.waitUntil(shutdown.done, timeout=5000)


@pytest.fixture(autouse=True)
def _closing_never_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-qt closes the test's windows before fixtures tear down: a window with work still going on must
    not ask (offscreen, nobody would answer). Tests of the question patch ``ask_on_close`` themselves."""
    from speckle_uploader.ui import main_window
    from speckle_uploader.ui.closing import CloseChoice

    monkeypatch.setattr(main_window, "ask_on_close", lambda *_args, **_kwargs: CloseChoice.QUIT)
