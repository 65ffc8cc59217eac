"""The real widgets driven against the sandbox: sign in, pick, drop, follow, cancel, retry, sign out."""

from __future__ import annotations

import shutil
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialog

from speckle_uploader.jobs import JobState
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.speckle.models import Model, Project
from speckle_uploader.ui.main_window import MainWindow
from speckle_uploader.ui.pickers import TargetPicker
from speckle_uploader.ui.sign_in import SignInDialog
from tests.conftest import SAMPLES, big_ifc, write
from tests.keyrings import MemoryKeyring, NoKeyring

TOKEN = "sandbox-demo-token"


def sign_in_with_dialog(qtbot, window: MainWindow, server: ThreadedSandbox, token: str = TOKEN) -> SignInDialog:  # type: ignore[no-untyped-def]
    window.ask_sign_in()
    dialog = window.sign_in_dialog
    dialog.server.setCurrentText(server.url)
    dialog.token.setText(token)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    return dialog


def signed_in(qtbot, window: MainWindow, server: ThreadedSandbox) -> None:  # type: ignore[no-untyped-def]
    dialog = sign_in_with_dialog(qtbot, window, server)
    qtbot.waitUntil(lambda: window.context.session is not None and not dialog.isVisible(), timeout=5000)


PER_FILE = None  # choose(): "A model for each file"


def choose(qtbot, picker: TargetPicker, project: str, model: str | None) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: picker.projects.list.count() > 0, timeout=5000)
    assert picker.projects.select_where(lambda p: p.name == project)
    qtbot.waitUntil(lambda: picker.models.list.count() > 0, timeout=5000)
    if model is PER_FILE:
        picker.per_file.setChecked(True)
    else:
        assert picker.models.select_where(lambda m: isinstance(m, Model) and m.name == model)


def drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def jobs_final(window: MainWindow) -> bool:
    jobs = window.table_model.jobs
    return bool(jobs) and all(job.state.is_final for job in jobs)


def test_sign_in_pick_drop_and_follow(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                      memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_size_limit_bytes", 50_000)
    signed_in(qtbot, window, cloud_sandbox)
    assert window.user_name.text() == "Alex Morgan"
    assert cloud_sandbox.url in window.server_name.text()
    assert memory_keyring.secrets[("speckle-uploader", cloud_sandbox.url)] == TOKEN
    assert window.notice.text() == ""

    picker = window.picker
    qtbot.waitUntil(lambda: picker.projects.list.count() == 6, timeout=5000)
    read_only = next(picker.projects.list.item(r) for r in range(6)
                     if picker.projects.list.item(r).data(Qt.ItemDataRole.UserRole + 1).name == "Campus Masterplan")
    assert not read_only.flags() & Qt.ItemFlag.ItemIsSelectable
    assert "permission to publish" in read_only.toolTip()
    choose(qtbot, picker, "Riverside Library", "architecture")
    assert window.context.target is not None and window.context.target.model_name == "architecture"
    assert "Riverside Library" in window.drop_zone.detail.text()

    good = tmp_path / "simple-wall.ifc"
    shutil.copy(SAMPLES / "simple-wall.ifc", good)
    bad = write(tmp_path / "survey.ifc", "ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n")
    big = write(tmp_path / "federated.ifc", b"x" * 60_000)
    drawing = write(tmp_path / "plan.pdf", b"%PDF")
    failures: list[str] = []
    window.notify = lambda title, message, icon: failures.append(message) if title == "Upload failed" else None  # type: ignore[method-assign]
    drop(window, [good, bad, big, drawing])
    assert window.table_model.rowCount() == 4  # every file is a row at once

    qtbot.waitUntil(lambda: jobs_final(window), timeout=15000)
    by_name = {job.file_name: job for job in window.table_model.jobs}
    assert by_name["simple-wall.ifc"].state is JobState.SUCCESS
    assert by_name["survey.ifc"].state is JobState.FAILED and "truncated" in by_name["survey.ifc"].message
    assert "over this server's limit" in by_name["federated.ifc"].message
    assert "does not import .pdf files" in by_name["plan.pdf"].message
    qtbot.waitUntil(lambda: window.summary.text() == "1 done · 3 failed", timeout=2000)
    assert failures == ["survey.ifc: " + by_name["survey.ifc"].message]  # the server's word; not the refusals

    window.select_row(0)
    assert window.row_actions.open.isEnabled() and not window.row_actions.cancel.isEnabled()
    window.select_row(1)
    window.row_actions.copy.trigger()
    assert QApplication.clipboard().text().startswith("survey.ifc: The IFC file is truncated")

    window.clear_finished()  # the version goes; the failures stay until asked
    assert sorted(job.file_name for job in window.table_model.jobs) == ["federated.ifc", "plan.pdf", "survey.ifc"]
    window.clear_finished(failed_too=True)
    assert window.table_model.rowCount() == 0
    assert window.context.queue is not None and window.context.queue.jobs == []


def test_cancel_and_retry_a_row(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                tmp_path: Path) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", PER_FILE)
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 2e6)
    big = big_ifc(tmp_path / "tower.ifc", 8_000_000)
    jobs = window.add_paths([big])
    qtbot.waitUntil(lambda: jobs[0].bytes_sent > 0, timeout=5000)
    window.select_row(0)
    assert window.row_actions.cancel.isEnabled()
    window.row_actions.cancel.trigger()
    qtbot.waitUntil(lambda: jobs[0].state is JobState.CANCELLED, timeout=5000)
    assert window.table_model.index(0, 3).data() == "Cancelled"
    assert window.row_actions.retry.isEnabled()

    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", None)
    window.row_actions.retry.trigger()
    qtbot.waitUntil(lambda: jobs[0].state is JobState.SUCCESS, timeout=15000)
    assert jobs[0].model_name == "tower"  # a model per file, named after it


def test_new_model_button_creates_one(qtbot, window: MainWindow, fileimport_sandbox: ThreadedSandbox) -> None:  # type: ignore[no-untyped-def]
    signed_in(qtbot, window, fileimport_sandbox)
    picker = window.picker
    qtbot.waitUntil(lambda: picker.projects.list.count() > 0, timeout=5000)
    assert picker.projects.select_where(lambda p: p.name == "Harbour Office Tower")
    qtbot.mouseClick(picker.new_model_button, Qt.MouseButton.LeftButton)
    dialog = picker.new_model_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.name, "Coordination")
    assert dialog.preview.text() == "The model will be named: coordination"  # what the server will call it
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.target is not None, timeout=5000)
    assert window.context.target.model_name == "coordination"  # type: ignore[union-attr]
    assert not picker.per_file.isChecked()
    project = next(p for p in fileimport_sandbox.sandbox.store.projects.values() if p.name == "Harbour Office Tower")
    assert "coordination" in {m.name for m in project.models.values()}


def test_search_is_served_by_the_server(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox) -> None:  # type: ignore[no-untyped-def]
    signed_in(qtbot, window, cloud_sandbox)
    projects = window.picker.projects
    qtbot.waitUntil(lambda: projects.list.count() == 6, timeout=5000)
    before = len([r for r in cloud_sandbox.sandbox.requests if r.path == "/graphql"])
    qtbot.keyClicks(projects.search, "harb")
    qtbot.waitUntil(lambda: projects.list.count() == 1, timeout=5000)
    assert projects.list.item(0).data(Qt.ItemDataRole.UserRole + 1).name == "Harbour Office Tower"
    after = len([r for r in cloud_sandbox.sandbox.requests if r.path == "/graphql"])
    assert after - before == 1  # four keystrokes, one debounced query


def test_choice_is_remembered(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox, context) -> None:  # type: ignore[no-untyped-def]
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Bridge Competition", "pylons")
    second = MainWindow(context)
    qtbot.addWidget(second)
    import asyncio

    task = asyncio.ensure_future(second.picker.start())
    qtbot.waitUntil(task.done, timeout=5000)
    assert isinstance(second.picker.project, Project) and second.picker.project.name == "Bridge Competition"
    assert context.target.model_name == "pylons"


def test_drop_without_target_asks_for_one(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                          tmp_path: Path) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    folder = tmp_path / "delivery"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(SAMPLES / "simple-wall.ifc", folder / "a.ifc")
    shutil.copy(SAMPLES / "column-grid.ifc", folder / "nested" / "b.ifc")
    write(folder / "notes.txt", "skip me")
    (folder / "loop").symlink_to(folder)  # a symlink loop must not hang the drop

    def answer_dialog() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible())
        picker = dialog.findChild(TargetPicker)
        qtbot.waitUntil(lambda: picker.projects.list.count() > 0, timeout=5000)
        picker.projects.select_where(lambda p: p.name == "Sample Houses")
        qtbot.waitUntil(lambda: picker.models.isEnabled(), timeout=5000)
        picker.per_file.setChecked(True)
        dialog.accept()

    drop(window, [folder])
    answer_dialog()  # the question is open (window-modal, no nested event loop) while the window lives on
    qtbot.waitUntil(lambda: window.table_model.rowCount() == 2, timeout=5000)  # the folder is walked off-thread
    assert sorted(job.file_name for job in window.table_model.jobs) == ["a.ifc", "b.ifc"]
    assert "Skipped 2 files" in window.statusBar().currentMessage()  # notes.txt and the linked folder
    qtbot.waitUntil(lambda: jobs_final(window), timeout=15000)
    assert {job.state for job in window.table_model.jobs} == {JobState.SUCCESS}


def test_sign_out_forgets_the_token(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                    memory_keyring: MemoryKeyring) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    assert memory_keyring.secrets
    qtbot.mouseClick(window.sign_button, Qt.MouseButton.LeftButton)
    # The window says so last, once the keychain entry is gone.
    qtbot.waitUntil(lambda: window.user_name.text() == "Not signed in", timeout=5000)
    assert window.context.session is None
    assert memory_keyring.secrets == {}
    assert window.sign_button.text() == "Sign in…"
    assert not window.picker.isEnabled()


def test_bad_token_is_explained_in_the_dialog(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                              memory_keyring: MemoryKeyring) -> None:
    dialog = sign_in_with_dialog(qtbot, window, cloud_sandbox, token="revoked")
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=5000)
    assert "refused the access token" in dialog.error.text()
    assert dialog.isVisible() and window.context.session is None
    assert memory_keyring.secrets == {}


def test_without_keychain_the_token_lives_for_this_run(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                       cloud_sandbox: ThreadedSandbox) -> None:
    keyring.set_keyring(NoKeyring())  # the memory_keyring fixture puts the previous one back
    signed_in(qtbot, window, cloud_sandbox)
    assert "kept for this run only" in window.notice.text()
    assert window.context.credentials.get(cloud_sandbox.url) == TOKEN


def test_stored_token_signs_in_at_start(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                        memory_keyring: MemoryKeyring) -> None:
    import asyncio

    memory_keyring.set_password("speckle-uploader", cloud_sandbox.url, TOKEN)
    window.context.settings.setValue("server", cloud_sandbox.url)
    task = asyncio.ensure_future(window.start())
    qtbot.waitUntil(task.done, timeout=5000)
    assert window.context.session is not None and window.user_name.text() == "Alex Morgan"


def test_plain_http_to_a_remote_host_needs_confirmation(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from speckle_uploader.speckle import is_plain_http_remote

    assert is_plain_http_remote("http://speckle.example.com")
    assert not is_plain_http_remote("http://127.0.0.1:3000") and not is_plain_http_remote("http://localhost")
    assert not is_plain_http_remote("https://speckle.example.com")
    asked: list[str] = []
    monkeypatch.setattr(SignInDialog, "confirm_plain_http", lambda self, url: asked.append(url) or False)
    window.ask_sign_in()
    dialog = window.sign_in_dialog
    dialog.server.setCurrentText("http://speckle.example.com")
    dialog.token.setText("t")
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asked), timeout=2000)
    assert asked == ["http://speckle.example.com"] and window.context.session is None


def test_files_opened_before_sign_in_become_jobs_after(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                       cloud_sandbox: ThreadedSandbox, context) -> None:
    """An .ifc opened with the app (file association) waits for the sign-in, then uploads."""
    riverside = next(p for p in cloud_sandbox.sandbox.store.projects.values() if p.name == "Riverside Library")
    context.remember_target(cloud_sandbox.url, riverside.id, "structure")
    window.open_paths([SAMPLES / "simple-wall.ifc"])
    assert window.table_model.rowCount() == 0
    signed_in(qtbot, window, cloud_sandbox)
    qtbot.waitUntil(lambda: window.table_model.rowCount() == 1, timeout=5000)
    qtbot.waitUntil(lambda: jobs_final(window), timeout=10000)
    job = window.table_model.jobs[0]
    assert job.state is JobState.SUCCESS and job.model_name == "structure"


def test_history_comes_back_after_a_restart(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                            tmp_path: Path, context) -> None:
    from PySide6.QtCore import QSettings

    from speckle_uploader.credentials import CredentialStore
    from speckle_uploader.ui.context import AppContext

    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", "mep")
    window.add_paths([SAMPLES / "simple-wall.ifc"])
    qtbot.waitUntil(lambda: jobs_final(window), timeout=10000)
    import asyncio

    closing = asyncio.ensure_future(context.shutdown())
    qtbot.waitUntil(closing.done, timeout=5000)

    # A new start of the app: same history file, same server.
    again = AppContext(CredentialStore(), QSettings(str(tmp_path / "s2.ini"), QSettings.Format.IniFormat),
                       history_path=context.history_path)
    second = MainWindow(again)
    qtbot.addWidget(second)
    signed_in(qtbot, second, cloud_sandbox)
    qtbot.waitUntil(lambda: second.table_model.rowCount() == 1, timeout=5000)
    job = second.table_model.jobs[0]
    assert job.state is JobState.SUCCESS and job.file_name == "simple-wall.ifc"
    assert second.table_model.index(0, 1).data() == "Riverside Library / mep"
    second.clear_finished()
    assert again.history is not None and again.history.load(cloud_sandbox.url) == []
    closing = asyncio.ensure_future(again.shutdown())
    qtbot.waitUntil(closing.done, timeout=5000)


def test_copy_diagnostics_has_no_token(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox) -> None:  # type: ignore[no-untyped-def]
    signed_in(qtbot, window, cloud_sandbox)
    report = window.copy_diagnostics()
    assert QApplication.clipboard().text() == report
    assert "Server kind: cloud" in report and "Speckle Uploader 0.1.0" in report
    assert TOKEN not in report
