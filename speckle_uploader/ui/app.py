"""Start-up: QApplication, the qasync loop that runs the engine on the Qt thread, and the main window."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
import tempfile
import time
from pathlib import Path

import qasync
from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from speckle_uploader import __version__
from speckle_uploader.app_dirs import history_path
from speckle_uploader.credentials import CredentialStore
from speckle_uploader.instance import InstanceServer, hand_over
from speckle_uploader.logs import setup_logging
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.icons import app_icon
from speckle_uploader.ui.main_window import MainWindow


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="speckle-uploader", description="Speckle Uploader desktop app")
    parser.add_argument("--demo", action="store_true", help="run on the built-in sandbox server (no account)")
    parser.add_argument("--quit-after", type=float, help=argparse.SUPPRESS)  # smoke tests
    parser.add_argument("--startup-probe", action="store_true", help=argparse.SUPPRESS)  # benchmarks/startup.py
    parser.add_argument("files", nargs="*", type=Path, help="files to add as jobs once signed in")
    return parser.parse_args(argv)


async def run_window(app: QApplication, args: argparse.Namespace) -> int:
    sandbox = None
    if not args.demo:
        context = AppContext(CredentialStore(), QSettings(), history_path=history_path())
    else:
        from speckle_uploader.sandbox import DEMO_TOKEN, SandboxConfig, ThreadedSandbox

        sandbox = ThreadedSandbox(SandboxConfig(processing_seconds=4.0))
        sandbox.start()
        # The demo leaves nothing behind: its settings live in a temporary file, its token nowhere.
        demo_dir = tempfile.TemporaryDirectory(prefix="speckle-uploader-demo-")
        context = AppContext(CredentialStore(), QSettings(f"{demo_dir.name}/settings.ini",
                                                          QSettings.Format.IniFormat))
        context.remember_tokens = False
        riverside = next(p for p in sandbox.sandbox.store.projects.values() if p.name == "Riverside Library")
        context.remember_target(sandbox.url, riverside.id, "architecture")
    window = MainWindow(context)
    quit_on_terminal_signals(window)
    app.installEventFilter(FileOpenFilter(window))
    instance = None
    if sandbox is None and args.quit_after is None and not args.startup_probe:
        instance = InstanceServer(window.receive_from_launch)
        await instance.start()
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    if args.startup_probe:
        window.installEventFilter(FirstPaintProbe(window))
    window.show()
    freeze_startup_objects()
    try:
        if sandbox is not None:
            await context.sign_in(sandbox.url, DEMO_TOKEN)
        else:
            await window.start()
        if args.files:
            window.open_paths(args.files)
        if args.quit_after is not None:  # smoke tests: report what was on screen, then leave
            print("window ready", flush=True)
            def report_and_quit() -> None:
                signed = context.session.user.name if context.session else "nobody"
                print(f"window shown: {window.isVisible()} {window.width()}x{window.height()} "
                      f"platform {app.platformName()} signed in: {signed}", flush=True)
                window.close_without_asking()

            QTimer.singleShot(int(args.quit_after * 1000), report_and_quit)
        await closed.wait()
    finally:
        if instance is not None:
            await instance.close()
        await context.shutdown()
        if sandbox is not None:
            sandbox.stop()
    return 0


class FileOpenFilter(QObject):
    """macOS hands files opened with the app (Finder, file association) over as QFileOpenEvent."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            self.window.open_paths([Path(event.file())])
            return True
        return super().eventFilter(watched, event)


def quit_on_terminal_signals(window: MainWindow) -> None:
    """Ctrl-C in the terminal that started the app (or SIGTERM) quits it as closing it would, without asking:
    uploads stop, what the server has carries on and is followed again at the next start."""

    def stop(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, window.close_without_asking)

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):  # not the main thread, or no such signal here
            signal.signal(signum, stop)
    # Python runs signal handlers between bytecodes; while Qt waits in C that never happens without a wake-up.
    heartbeat = QTimer(window)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)


def freeze_startup_objects() -> None:
    """Move everything built so far (modules, Qt wrappers, the window: all of it lives as long as the app)
    out of the garbage collector's way. Otherwise each full collection walks it all on the Qt thread and
    the window stalls ~20 ms while files upload (benchmarks/README.md, responsiveness). No collection first:
    it would delay the first paint, and start-up leaves next to no cyclic garbage to keep."""
    gc.freeze()


class FirstPaintProbe(QObject):
    """For benchmarks/startup.py: print the wall-clock time of the window's first paint, then close it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and watched is self.window:
            print(f"first paint at {time.time():.6f}", flush=True)
            self.window.removeEventFilter(self)
            QTimer.singleShot(0, self.window.close_without_asking)
        return super().eventFilter(watched, event)


def run_app(argv: list[str]) -> int:
    args = parse_args(argv)
    # One window per user: a window already running takes these files (and comes to the front); this launch
    # then ends here, before Qt loads. The demo and the probes run apart.
    if not (args.demo or args.startup_probe or args.quit_after is not None) and hand_over(args.files):
        count = len(args.files)
        print(f"Speckle Uploader is already open: {count} {'file' if count == 1 else 'files'} handed to it."
              if count else "Speckle Uploader is already open: brought to the front.", flush=True)
        return 0
    log_file = setup_logging()
    logging.getLogger(__name__).info("Speckle Uploader %s starting; log at %s", __version__, log_file)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Speckle Uploader")
    app.setOrganizationName("Speckle")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the loop ends when the main window says so, after clean-up
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with contextlib.closing(loop):  # the loop closes before the QApplication goes away
            result: int = loop.run_until_complete(run_window(app, args))
            return result
    finally:
        asyncio.set_event_loop(None)
