"""Asked when files arrive and no project is chosen yet: where should they go?"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.pickers import TargetPicker
from speckle_uploader.ui.tasks import spawn


def ask_target(parent: QWidget, context: AppContext, count: int) -> bool:
    """Show a project and model picker; True once the user chose a target and accepted."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Where should these files go?")
    picker = TargetPicker(context, dialog)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok_button.setText(f"Upload {count} {'file' if count == 1 else 'files'}")
    ok_button.setEnabled(False)

    def update_ok() -> None:
        ok_button.setEnabled(context.target is not None)

    context.target_changed.connect(update_ok)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("Choose the project and the model for the files you dropped."))
    layout.addWidget(picker, 1)
    layout.addWidget(buttons)
    dialog.resize(420, 560)
    spawn(picker.start())
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted and context.target is not None
    finally:
        context.target_changed.disconnect(update_ok)
