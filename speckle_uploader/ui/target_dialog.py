"""Asked when files arrive and no project is chosen yet: where should they go?

Opened window-modal with ``open()``, never ``exec()``: files often arrive from inside a running task (opened
with the app, handed over by a second launch), and a nested event loop there stops the pickers' own tasks
from running (qasync: "Cannot enter into task")."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.pickers import TargetPicker
from speckle_uploader.ui.tasks import spawn


def ask_target(parent: QWidget, context: AppContext, what: str, done: Callable[[bool], None]) -> QDialog:
    """Show a project and model picker; ``done(True)`` once the user chose a target and accepted, ``done(False)``
    when they cancelled. ``what``: the files, as the OK button names them ("3 files", "the folder")."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Where should these files go?")
    picker = TargetPicker(context, dialog)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok_button.setText(f"Upload {what}")
    ok_button.setEnabled(False)

    def update_ok() -> None:
        ok_button.setEnabled(context.target is not None)

    def finished(result: int) -> None:
        context.target_changed.disconnect(update_ok)
        done(result == QDialog.DialogCode.Accepted and context.target is not None)
        dialog.deleteLater()

    context.target_changed.connect(update_ok)
    dialog.finished.connect(finished)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("Choose the project and the model for the files you added."))
    layout.addWidget(picker, 1)
    layout.addWidget(buttons)
    dialog.resize(420, 560)
    spawn(picker.start())
    dialog.open()
    return dialog
