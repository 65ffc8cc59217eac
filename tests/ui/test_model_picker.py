"""The model list as an architect meets it (issue 13, point 5) and the jobs table's column fit (point 6)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QDialog, QHeaderView

from speckle_uploader.jobs import Job, JobEvent, JobState
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.speckle.models import Model
from speckle_uploader.ui.columns import Column
from speckle_uploader.ui.main_window import MainWindow
from speckle_uploader.ui.new_model import NewModelDialog, model_name_preview
from speckle_uploader.ui.pickers import TargetPicker
from tests.ui.test_window import choose, signed_in


def open_dialogs() -> list[QDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


def riverside(qtbot, picker: TargetPicker) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: picker.projects.list.count() > 0, timeout=5000)
    assert picker.projects.select_where(lambda p: p.name == "Riverside Library")
    qtbot.waitUntil(lambda: picker.models.list.count() == 3, timeout=5000)


def test_arrowing_through_the_models_only_chooses_models(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                         cloud_sandbox: ThreadedSandbox) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    picker = window.picker
    riverside(qtbot, picker)
    window.show()
    picker.models.list.setFocus()
    chosen: list[str | None] = []
    for key in (Qt.Key.Key_Home, Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_End, Qt.Key.Key_Up, Qt.Key.Key_Home):
        qtbot.keyClick(picker.models.list, key)
        target = window.context.target
        assert target is not None
        chosen.append(target.model_name)
        assert open_dialogs() == [] and picker.new_model_dialog is None
    every = [picker.models.list.item(r).data(Qt.ItemDataRole.UserRole + 1) for r in range(3)]
    assert all(isinstance(m, Model) for m in every)  # only models are in the list
    names = [m.name for m in every]
    assert chosen == [names[0], names[1], names[2], names[2], names[1], names[0]]


def test_escaping_new_model_keeps_the_target(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                             cloud_sandbox: ThreadedSandbox) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    picker = window.picker
    choose(qtbot, picker, "Riverside Library", "structure")
    before = window.context.target
    assert before is not None and before.model_name == "structure"
    window.show()
    qtbot.mouseClick(picker.new_model_button, Qt.MouseButton.LeftButton)
    dialog = picker.new_model_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.name, "Facade")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert window.context.target == before  # not "a model for each file", not nothing
    assert not picker.per_file.isChecked()
    project = next(p for p in cloud_sandbox.sandbox.store.projects.values() if p.name == "Riverside Library")
    assert "facade" not in {m.name for m in project.models.values()}  # nothing was created


def test_the_dialog_shows_the_name_the_server_will_give(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = NewModelDialog("Riverside Library")
    qtbot.addWidget(dialog)
    assert not dialog.create_button.isEnabled()
    qtbot.keyClicks(dialog.name, "Architecture Main")
    assert dialog.preview.text() == "The model will be named: architecture main"
    assert dialog.model_name() == "architecture main" and dialog.create_button.isEnabled()
    dialog.name.setText("#Site, North/East\nWing")
    assert dialog.model_name() == model_name_preview("#Site, North/East\nWing") == "site- north-east wing"
    dialog.name.setText("  #$ ")
    assert dialog.model_name() == "" and not dialog.create_button.isEnabled()
    assert "nothing the server accepts" in dialog.preview.text()


def test_a_model_for_each_file_is_a_toggle(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                           context) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    picker = window.picker
    choose(qtbot, picker, "Riverside Library", "mep")
    picker.per_file.setChecked(True)
    target = window.context.target
    assert target is not None and target.model_name is None and not picker.models.list.isEnabled()
    assert context.remembered_target()[1] == ""  # remembered per server as "a model per file"
    picker.per_file.setChecked(False)
    target = window.context.target
    assert target is not None and target.model_name == "mep" and picker.models.list.isEnabled()

    picker.per_file.setChecked(True)  # and it comes back at the next start on this server
    second = MainWindow(context)
    qtbot.addWidget(second)
    import asyncio

    task = asyncio.ensure_future(second.picker.start())
    qtbot.waitUntil(task.done, timeout=5000)
    assert second.picker.per_file.isChecked()
    assert context.target is not None and context.target.model_name is None


def test_the_chosen_project_stays_highlighted_without_focus(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                            cloud_sandbox: ThreadedSandbox) -> None:
    signed_in(qtbot, window, cloud_sandbox)
    picker = window.picker
    riverside(qtbot, picker)
    window.show()
    picker.projects.list.setFocus()
    picker.models.search.setFocus()  # focus moves away from the project list
    palette = picker.projects.list.palette()
    for role in (QPalette.ColorRole.Highlight, QPalette.ColorRole.HighlightedText):
        assert palette.color(QPalette.ColorGroup.Inactive, role) == palette.color(QPalette.ColorGroup.Active, role)
    assert picker.projects.list.currentItem().isSelected()

    dark = QPalette(picker.projects.palette())  # a palette change (dark mode) is followed, not frozen
    dark.setColor(QPalette.ColorRole.Highlight, QColor("#3d6fb0"))
    picker.projects.setPalette(dark)
    palette = picker.projects.list.palette()
    assert palette.color(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight) == QColor("#3d6fb0")


def test_columns_fit_their_content_and_message_stretches(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window.resize(1240, 760)
    window.show()
    model = window.table_model
    long_name = "Hospital Extension - Level 03 - Coordination.ifc"
    jobs = [Job(id=i, path=tmp_path / (long_name if i == 0 else f"f{i}.ifc"), project_id="p",
                model_name="structure and services", size=123_456_789, state=JobState.FAILED,
                message="The server refused the file") for i in range(200)]
    model.set_project_names({"p": "Hospital Extension"})
    header = window.table.horizontalHeader()
    narrow = header.sectionSize(Column.FILE)
    for job in jobs:
        model.on_job_event(JobEvent.ADDED, job)
    qtbot.waitUntil(lambda: header.sectionSize(Column.FILE) > narrow, timeout=5000)  # fitted once, after a batch
    metrics = header.fontMetrics()
    for column in (Column.FILE, Column.TARGET, Column.SIZE, Column.STATE, Column.STARTED):
        title = model.headerData(column, Qt.Orientation.Horizontal)
        assert header.sectionSize(column) > metrics.horizontalAdvance(title)
    cell = window.table.fontMetrics()
    assert header.sectionSize(Column.TARGET) >= cell.horizontalAdvance("Hospital Extension / structure and services")
    assert header.sectionSize(Column.FILE) >= cell.horizontalAdvance(long_name)
    assert header.sectionResizeMode(Column.MESSAGE) is QHeaderView.ResizeMode.Stretch
    assert header.sectionResizeMode(Column.FILE) is QHeaderView.ResizeMode.Interactive
    # a cut cell still says everything on hover
    assert "Hospital Extension / structure and services" in model.index(0, Column.TARGET).data(
        Qt.ItemDataRole.ToolTipRole)
