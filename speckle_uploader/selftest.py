"""``speckle-uploader --selftest``: proves an installed copy (above all the frozen bundle) works.

Starts the sandbox in this process, uploads a sample IFC through the real engine until the server makes
it a version, checks the keychain backend this platform would use, TLS through the OS trust store, and
that Qt can build the window (offscreen unless a platform is set). Exits 0, or 1 after saying what failed.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from speckle_uploader import __version__

KEYCHAIN_MODULES = {"linux": "keyring.backends.SecretService", "win32": "keyring.backends.Windows",
                    "darwin": "keyring.backends.macOS"}


def check_keychain() -> str:
    import keyring

    expected = KEYCHAIN_MODULES.get(sys.platform)
    if expected:
        importlib.import_module(expected)  # the backend must be in the bundle even where no keychain runs
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if "plaintext" in name.lower() or "keyrings.alt" in name:
        raise RuntimeError(f"{name} would store tokens in plain text")
    reachable = "fail" not in name.lower()
    return f"{name} ({'a keychain is available' if reachable else 'no keychain running: tokens would last one run'})"


def check_tls() -> str:
    from speckle_uploader.speckle import tls_context

    context = tls_context()
    return f"{type(context).__module__}.{type(context).__name__}, OS trust store"


def check_upload() -> str:
    from speckle_uploader.jobs import JobState, Workspace
    from speckle_uploader.jobs.history import JobHistory
    from speckle_uploader.resources import samples_dir
    from speckle_uploader.sandbox import DEMO_TOKEN, SandboxConfig, ThreadedSandbox

    sample = sorted(samples_dir().glob("*.ifc"))[0]

    async def upload(url: str, folder: str) -> str:
        history = Path(folder) / "history.sqlite3"  # the history's migrations run too
        async with await Workspace.open(url, DEMO_TOKEN, history=history) as workspace:
            project = (await workspace.session.client.projects(search="Riverside")).items[0]
            job = workspace.queue.add(sample, project.id, "selftest")
            async with asyncio.timeout(45):
                await workspace.queue.wait()
            if job.state is not JobState.SUCCESS:
                raise RuntimeError(f"{sample.name} ended {job.state.value}: {job.message}")
            kind = workspace.session.server.kind.value
        recorded = JobHistory.open(history)
        assert recorded.history is not None, recorded.problem
        saved = recorded.history.load()
        recorded.history.close()
        if [j.state for j in saved] != [JobState.SUCCESS]:
            raise RuntimeError(f"the history recorded {[j.state.value for j in saved]}")
        return f"{sample.name} became version {job.version_id} ({kind} sandbox), recorded in the history"

    with ThreadedSandbox(SandboxConfig(queue_seconds=0.1, processing_seconds=0.3)) as sandbox, \
            tempfile.TemporaryDirectory() as folder:
        return asyncio.run(upload(sandbox.url, folder))


def check_window() -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from speckle_uploader.credentials import CredentialStore
    from speckle_uploader.ui.context import AppContext
    from speckle_uploader.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(f"{folder}/settings.ini", QSettings.Format.IniFormat)
        window = MainWindow(AppContext(CredentialStore(), settings))
        window.show()
        app.processEvents()
        picture = window.grab()
        window.close_without_asking()
    if picture.isNull():
        raise RuntimeError("the window could not be drawn")
    return f"main window drawn {picture.width()}x{picture.height()} on the {app.platformName()} platform"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("keychain", check_keychain),
    ("tls", check_tls),
    ("upload", check_upload),
    ("window", check_window),
]


def main() -> int:
    print(f"Speckle Uploader {__version__} self-test ({'bundle' if getattr(sys, 'frozen', False) else 'source'})")
    failed = 0
    for name, check in CHECKS:
        started = time.monotonic()
        try:
            detail = check()
        except Exception as exc:  # report every failure, then carry on with the other checks
            failed += 1
            print(f"FAIL {name}: {type(exc).__name__}: {exc}", flush=True)
            continue
        print(f"ok   {name}: {detail} [{time.monotonic() - started:.1f} s]", flush=True)
    print("self-test passed" if not failed else f"self-test FAILED ({failed} of {len(CHECKS)} checks)")
    return 1 if failed else 0
