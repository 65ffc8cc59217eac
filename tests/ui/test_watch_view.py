"""The Watched folders view, driven against the sandbox: add a rule through its dialog and see a saved file
become a version with its link; pause and resume; a refused template; a folder that disappears; the tray
menu; closing the window while folders are watched; start at login."""

from __future__ import annotations

import shutil
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSystemTrayIcon

from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.main_window import MainWindow
from speckle_uploader.ui.watch_model import Col
from speckle_uploader.ui.watch_tray import TOLD_KEY
from speckle_uploader.ui.watch_view import WatchView
from speckle_uploader.watch import ModelMode, PublishRule, RuleState
from tests.conftest import project_id
from tests.test_watch import ifc, versions
from tests.ui.test_window import signed_in

QUICK = {"rescan_seconds": 0.2, "network_rescan_seconds": 0.2, "tick_seconds": 0.05}
WAIT = 20_000  # ms: generous, a deadline rather than a timing


@pytest.fixture
def watching_window(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox) -> MainWindow:  # type: ignore[no-untyped-def]
    window.context.watch_options = dict(QUICK)
    signed_in(qtbot, window, cloud_sandbox)
    assert window.context.watch is not None
    return window


def add_rule(window: MainWindow, server: ThreadedSandbox, folder: Path, model: str) -> int:
    assert window.context.watch is not None
    folder.mkdir(parents=True, exist_ok=True)
    rule = PublishRule(folder, server.url, project_id(server), project_name="Riverside Library",
                       model_mode=ModelMode.FIXED, model_name=model, settle_seconds=0.2)
    status = window.context.watch.add(rule)
    assert status.rule.id is not None
    return status.rule.id


def cell(view: WatchView, rule_id: int, column: Col, role: int = Qt.ItemDataRole.DisplayRole) -> str:
    row = view.model.row_of(rule_id)
    return str(view.model.index(row, column).data(role) or "") if row >= 0 else ""


def test_a_rule_added_in_the_dialog_publishes_a_saved_file_and_links_its_version(  # type: ignore[no-untyped-def]
        qtbot, watching_window: MainWindow, cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    window = watching_window
    folder = tmp_path / "Exports"
    ifc(folder / "Tower A" / "ARC.ifc", "already there")
    window.watch_button.click()
    view = window.watched.view
    assert view.isVisible()
    dialog = view.add_rule()
    dialog.folder.setText(str(folder))
    dialog.folder.editingFinished.emit()
    dialog.templated.setChecked(True)
    dialog.template.setText("{path}/{stem}")
    dialog.settle.setValue(0.2)
    qtbot.waitUntil(lambda: dialog.projects.list.count() > 0, timeout=WAIT)
    assert dialog.projects.select_where(lambda p: p.name == "Riverside Library")
    qtbot.waitUntil(lambda: "tower a/arc" in dialog.model_preview.text(), timeout=WAIT)  # lower-cased, as stored
    assert dialog.model_preview.textFormat() is Qt.TextFormat.PlainText
    assert dialog.message_preview.text().startswith("Version message: ARC.ifc, saved ")
    assert dialog.ok.isEnabled(), dialog.problem.text()
    dialog.ok.click()

    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT)
    rule_id = view.model.statuses[0].rule.id
    assert rule_id is not None
    assert cell(view, rule_id, Col.TARGET) == "Riverside Library / named {path}/{stem}"
    qtbot.waitUntil(lambda: view.model.statuses[0].last_job is not None, timeout=WAIT)  # the catch-up publish
    ifc(folder / "Tower B" / "STR.ifc", "a new export")
    qtbot.waitUntil(lambda: cell(view, rule_id, Col.LAST).startswith("STR.ifc"), timeout=WAIT)
    assert versions(cloud_sandbox, "tower b/str") and versions(cloud_sandbox, "tower a/arc")
    assert cell(view, rule_id, Col.FILES) == "2"

    opened: list[str] = []
    view.open_url = opened.append
    view.select_rule(rule_id)
    assert view.open_button.isEnabled()
    view.table.doubleClicked.emit(view.model.index(0, Col.LAST))
    version = versions(cloud_sandbox, "tower b/str")[-1]
    project = project_id(cloud_sandbox)
    assert len(opened) == 1 and opened[0].startswith(f"{cloud_sandbox.url}/projects/{project}/models/")
    assert opened[0].endswith(f"@{version}")
    assert "STR.ifc published" in view.detail.text()


def test_pause_and_resume_from_the_view(qtbot, watching_window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                        tmp_path: Path) -> None:
    window = watching_window
    rule_id = add_rule(window, cloud_sandbox, tmp_path / "exports", "paused model")
    view = window.watched.view
    qtbot.waitUntil(lambda: view.model.row_of(rule_id) == 0, timeout=WAIT)
    view.select_rule(rule_id)
    assert view.pause_button.text() == "&Pause"
    view.pause_button.click()
    assert cell(view, rule_id, Col.STATE) == "Paused"
    assert view.pause_button.text() == "&Resume"
    assert window.context.watch is not None and window.context.watch.status(rule_id).rule.paused
    assert "paused" in window.watch_button.text()
    ifc(tmp_path / "exports" / "ARC.ifc", "saved while paused")
    view.pause_button.click()
    assert cell(view, rule_id, Col.STATE) in ("Watching", "Publishing")
    qtbot.waitUntil(lambda: cell(view, rule_id, Col.LAST).startswith("ARC.ifc"), timeout=WAIT)
    assert len(versions(cloud_sandbox, "paused model")) == 1


def test_the_dialog_refuses_a_bad_template(qtbot, watching_window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    view = watching_window.watched.view
    dialog = view.add_rule()
    qtbot.waitUntil(lambda: dialog.projects.list.count() > 0, timeout=WAIT)
    dialog.projects.select_where(lambda p: p.name == "Riverside Library")
    assert "Choose the folder" in dialog.problem.text() and not dialog.ok.isEnabled()
    dialog.folder.setText(str(tmp_path))
    dialog.templated.setChecked(True)
    dialog.template.setText("{project}/{stem}")
    assert not dialog.ok.isEnabled()
    assert "{stem}, {folder} and {path}, not {project}" in dialog.problem.text()
    dialog.template.setText("{folder}/{stem}")
    assert dialog.ok.isEnabled()
    dialog.message.setText("<b>{file}</b> by {whom}")
    assert not dialog.ok.isEnabled() and "not {whom}" in dialog.problem.text()
    dialog.message.setText("<b>{file}</b>")
    assert dialog.ok.isEnabled()
    assert dialog.message_preview.textFormat() is Qt.TextFormat.PlainText
    dialog.reject()
    assert view.model.rowCount() == 0


def test_a_folder_that_disappears_shows_why(qtbot, watching_window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    watching_window.watched.tray_icon = QSystemTrayIcon(watching_window)  # offscreen has none: one never shown
    told: list[tuple[str, str]] = []
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, title, text, *args: told.append((title, text)))
    monkeypatch.setattr(MainWindow, "isActiveWindow", lambda self: False)  # in the background
    folder = tmp_path / "share"
    rule_id = add_rule(watching_window, cloud_sandbox, folder, "share model")
    view = watching_window.watched.view
    qtbot.waitUntil(lambda: cell(view, rule_id, Col.STATE) == "Watching", timeout=WAIT)
    shutil.rmtree(folder)
    qtbot.waitUntil(lambda: cell(view, rule_id, Col.STATE).startswith("Waiting for the folder: "), timeout=WAIT)
    assert "cannot be reached" in cell(view, rule_id, Col.STATE)
    assert "⚠" in watching_window.watch_button.text()
    assert [title for title, _text in told] == ["A watched folder cannot be reached"]
    assert told[0][1].startswith(f"{folder}: The folder cannot be reached")
    folder.mkdir()
    qtbot.waitUntil(lambda: cell(view, rule_id, Col.STATE) == "Watching", timeout=WAIT)
    assert len(told) == 1


def test_pause_all_and_resume_all_from_the_tray_menu(qtbot, watching_window: MainWindow,  # type: ignore[no-untyped-def]
                                                     cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    watched = watching_window.watched
    first = add_rule(watching_window, cloud_sandbox, tmp_path / "a", "a")
    second = add_rule(watching_window, cloud_sandbox, tmp_path / "b", "b")
    assert [a.text() for a in watched.menu.actions() if a.text()] == [
        "Open Speckle Uploader", "Watched folders…", "Pause all watched folders", "Resume all watched folders",
        "Quit"]
    qtbot.waitUntil(lambda: watched.model.rowCount() == 2 and watched.pause_all_action.isEnabled(), timeout=WAIT)
    watched.pause_all_action.trigger()
    service = watching_window.context.watch
    assert service is not None
    assert {service.status(i).state for i in (first, second)} == {RuleState.PAUSED}
    assert not watched.pause_all_action.isEnabled() and watched.resume_all_action.isEnabled()
    assert not service.watching
    watched.resume_all_action.trigger()
    assert service.watching and watched.pause_all_action.isEnabled()


def test_closing_the_window_keeps_watching_in_the_tray_and_says_so_once(  # type: ignore[no-untyped-def]
        qtbot, watching_window: MainWindow, cloud_sandbox: ThreadedSandbox, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = watching_window
    watched = window.watched
    watched.tray_icon = QSystemTrayIcon(window)  # offscreen has no tray: one that is never shown
    told: list[str] = []
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, title, *args: told.append(title))
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    add_rule(window, cloud_sandbox, tmp_path / "exports", "kept")
    qtbot.waitUntil(lambda: watched.keeps_working_reason() != "", timeout=WAIT)
    window.close()
    assert not window.isVisible() and not closed
    assert told == ["Speckle Uploader keeps watching"] and window.context.settings.value(TOLD_KEY, type=bool)
    watched.open_action.trigger()
    assert window.isVisible()
    window.close()
    assert not window.isVisible() and len(told) == 1  # told once
    watched.quit_action.trigger()
    assert closed == [True]


def test_start_at_login_uses_the_autostart_module(qtbot, context: AppContext,  # type: ignore[no-untyped-def]
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    fake = types.ModuleType("speckle_uploader.autostart")

    def enable(argv: Sequence[str]) -> None:
        calls.append(list(argv))

    fake.enable = enable  # type: ignore[attr-defined]
    fake.disable = lambda: calls.append("disable")  # type: ignore[attr-defined]
    fake.is_enabled = lambda: bool(calls) and calls[-1] != "disable"  # type: ignore[attr-defined]
    fake.launch_command = lambda *args: ["speckle-uploader", *args]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "speckle_uploader.autostart", fake)
    view = WatchView(context)
    qtbot.addWidget(view)
    assert view.start_at_login.isEnabled() and not view.start_at_login.isChecked()
    view.start_at_login.setChecked(True)
    assert calls == [["speckle-uploader"]] and view.start_at_login.isChecked()
    view.start_at_login.setChecked(False)
    assert calls[-1] == "disable" and not view.start_at_login.isChecked()
    assert "Sign in" in view.empty_hint.text() and not view.add_button.isEnabled()


def test_edit_keeps_the_rule_and_remove_asks_first(qtbot, watching_window: MainWindow,  # type: ignore[no-untyped-def]
                                                   cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    rule_id = add_rule(watching_window, cloud_sandbox, tmp_path / "exports", "before")
    view = watching_window.watched.view
    qtbot.waitUntil(lambda: view.model.row_of(rule_id) == 0, timeout=WAIT)
    view.select_rule(rule_id)
    dialog = view.edit_rule()
    assert dialog is not None and dialog.one_model.isChecked() and dialog.model_name.text() == "before"
    qtbot.waitUntil(lambda: dialog.projects.list.currentItem() is not None, timeout=WAIT)  # the rule's project
    dialog.model_name.setText("After <b>Hours</b>")
    assert dialog.ok.isEnabled(), dialog.problem.text()
    dialog.ok.click()
    qtbot.waitUntil(lambda: cell(view, rule_id, Col.TARGET) == "Riverside Library / after <b>hours</b>",
                    timeout=WAIT)
    assert view.model.rowCount() == 1

    asked: list[str] = []
    view.confirm = lambda question: asked.append(question) or False
    view.select_rule(rule_id)
    view.remove_button.click()
    assert len(asked) == 1 and str(tmp_path / "exports") in asked[0]
    assert view.model.rowCount() == 1
    view.confirm = lambda question: True
    view.remove_button.click()
    assert view.model.rowCount() == 0
    assert watching_window.context.watch is not None and watching_window.context.watch.statuses == []
