"""What the window benchmarks share: a sandbox in its own process, the real main window (offscreen unless a
display is asked for) on a qasync loop, signed in with a target picked, and sample files."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from speckle_uploader.credentials import CredentialStore
from speckle_uploader.ui.app import freeze_startup_objects
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "resources" / "samples" / "simple-wall.ifc"
Measure = Callable[[MainWindow, AppContext], Coroutine[Any, Any, dict[str, float]]]


@contextmanager
def work_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="speckle-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def small_files(folder: Path, count: int, name: str = "room-{:04d}.ifc") -> list[Path]:
    sample = SAMPLE.read_bytes()
    files = [folder / name.format(n) for n in range(count)]
    for path in files:
        path.write_bytes(sample)
    return files


@contextmanager
def sandbox_process(port: int, work: Path, *options: str, nice: int = 0) -> Iterator[str]:
    """``speckle-uploader sandbox`` in its own process (so it does not share this one's GIL); yields its URL."""
    command = ["nice", "-n", str(nice), str(ROOT / ".venv" / "bin" / "speckle-uploader"), "sandbox",
               "--port", str(port), "--data-dir", str(work / "blobs"), *options]
    sandbox = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        yield f"http://127.0.0.1:{port}"
    finally:
        sandbox.terminate()
        sandbox.wait(10)


async def sign_in_and_pick(window: MainWindow, context: AppContext, url: str, token: str = "sandbox-demo-token",
                           ) -> None:
    """Sign in and choose Riverside Library, a model for each file, as a user would in the pickers."""
    await context.stored_token(url)  # as the app's start does (which also starts the worker threads)
    await context.sign_in(url, token)
    await asyncio.sleep(1.0)  # the pickers load
    window.picker.projects.select_where(lambda p: p.name == "Riverside Library")
    await asyncio.sleep(0.5)
    window.picker.per_file.setChecked(True)
    await asyncio.sleep(0.3)
    assert context.target is not None, "no project and model chosen"


def open_window(settings: Path, *, show: bool = True, size: tuple[int, int] | None = None
                ) -> tuple[AppContext, MainWindow]:
    """The main window as the app builds it (start-up objects frozen once it is up); tokens kept nowhere."""
    context = AppContext(CredentialStore(), QSettings(str(settings), QSettings.Format.IniFormat))
    context.remember_tokens = False
    window = MainWindow(context)
    if size is not None:
        window.resize(*size)
    if show:
        window.show()
    freeze_startup_objects()
    return context, window


def run_in_window(work: Path, measure: Measure, *, show: bool = True, size: tuple[int, int] | None = None
                  ) -> dict[str, float]:
    """Run ``measure`` in a new window on a qasync loop, shut the engine down, print and return the results."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    context, window = open_window(work / "settings.ini", show=show, size=size)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def measure_then_close() -> dict[str, float]:
        try:
            return await measure(window, context)
        finally:
            await context.shutdown()

    with loop:
        results: dict[str, float] = loop.run_until_complete(measure_then_close())
    for key, value in results.items():
        print(f"{key}: {value:.1f}")
    return results
