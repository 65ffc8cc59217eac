"""Server text is shown as text, never rendered: a sandbox whose user, project and failure message are HTML
(`<h1>`, `<a href>`), and a 1 MB failure message that the table cuts while *Copy message* keeps it whole."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from speckle_uploader.jobs import JobState
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.ui.columns import Column
from speckle_uploader.ui.main_window import MainWindow
from speckle_uploader.ui.plain import CELL_LIMIT, TOOLTIP_LIMIT, one_line, tooltip
from tests.conftest import SAMPLES
from tests.keyrings import MemoryKeyring
from tests.ui.test_window import choose, drop, jobs_final, signed_in

EVIL = "<h1 style='color:red'>Boss</h1><a href='https://evil.example/'>click</a>"


def rename_everything(server: ThreadedSandbox) -> str:
    store = server.sandbox.store
    user = next(u for u in store.users.values() if u.name == "Alex Morgan")
    user.name = EVIL
    project = next(p for p in store.projects.values() if p.name == "Riverside Library")
    project.name = EVIL
    reviewer = next(p for p in store.projects.values() if p.name == "Campus Masterplan")
    reviewer.name = "<b>read</b> only"
    return project.id


def test_server_strings_are_plain_text(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                       memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    cloud_sandbox.call(rename_everything, cloud_sandbox)
    cloud_sandbox.sandbox.store.forced_outcomes["simple-wall.ifc"] = ("failed", EVIL)
    signed_in(qtbot, window, cloud_sandbox)
    assert window.user_name.textFormat() is Qt.TextFormat.PlainText and window.user_name.text() == EVIL
    assert window.server_name.textFormat() is Qt.TextFormat.PlainText
    assert "<h1" not in window.avatar.toolTip()

    picker = window.picker
    qtbot.waitUntil(lambda: picker.projects.list.count() == 6, timeout=5000)
    items = [picker.projects.list.item(r) for r in range(6)]
    assert EVIL in [item.text() for item in items]  # list items never render markup: shown as written
    choose(qtbot, picker, EVIL, "architecture")
    detail = window.drop_zone.detail.text()
    assert "&lt;h1" in detail and "<h1" not in detail and "<a href" not in detail

    drop(window, [shutil.copy(SAMPLES / "simple-wall.ifc", tmp_path / "simple-wall.ifc")])
    qtbot.waitUntil(lambda: jobs_final(window), timeout=10000)
    job = window.table_model.jobs[0]
    assert job.state is JobState.FAILED and EVIL in job.message
    tip = window.table_model.index(0, Column.MESSAGE).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;h1" in tip and "<h1" not in tip and "<a href" not in tip
    target_tip = window.table_model.index(0, Column.TARGET).data(Qt.ItemDataRole.ToolTipRole)
    assert "<h1" not in target_tip


def test_sign_in_error_is_plain_text(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.ask_sign_in(EVIL)
    assert window.sign_in_dialog.error.textFormat() is Qt.TextFormat.PlainText
    assert window.sign_in_dialog.error.text() == EVIL


def test_a_huge_message_is_cut_for_show_and_copied_whole(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                         cloud_sandbox: ThreadedSandbox,
                                                         memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    huge = "The importer says: " + "x" * 1_000_000
    cloud_sandbox.sandbox.store.forced_outcomes["simple-wall.ifc"] = ("failed", huge)
    signed_in(qtbot, window, cloud_sandbox)
    choose(qtbot, window.picker, "Riverside Library", "architecture")
    drop(window, [shutil.copy(SAMPLES / "simple-wall.ifc", tmp_path / "simple-wall.ifc")])
    qtbot.waitUntil(lambda: jobs_final(window), timeout=10000)
    full = window.table_model.jobs[0].message  # the engine keeps a bounded part of a huge answer
    assert full.startswith("The importer says") and len(full) > CELL_LIMIT
    cell = window.table_model.index(0, Column.MESSAGE).data()
    tip = window.table_model.index(0, Column.MESSAGE).data(Qt.ItemDataRole.ToolTipRole)
    assert len(cell) <= CELL_LIMIT + 1 and cell.startswith("The importer says")
    assert len(tip) < TOOLTIP_LIMIT + 200
    if len(full) > TOOLTIP_LIMIT:
        assert "Copy message copies them all" in tip
    window.select_row(0)
    window.row_actions.copy_message()
    assert full in QApplication.clipboard().text()


def test_cut_text_has_no_control_characters() -> None:
    huge = "a\x1b[2J\u202e" + "y" * 5_000_000
    cell, tip = one_line(huge), tooltip(huge)
    assert "\x1b" not in cell + tip and "\u202e" not in cell + tip
    assert cell.endswith("…") and len(cell) <= CELL_LIMIT + 1
    assert "4,998,006 more characters" in tip  # says how much more there is
