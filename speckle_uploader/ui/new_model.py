"""The New model dialog: shows the name the model will have (the server lower-cases names) before creating it."""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from speckle_uploader.jobs.model_directory import clean_model_name
from speckle_uploader.ui.plain import one_line, plain


def model_name_preview(text: str) -> str:
    """The name the server will give a model asked for as ``text`` ("" when nothing usable is left)."""
    return clean_model_name(text).lower()


class NewModelDialog(QDialog):
    """Asks for a name and shows what it becomes; accepted only with a usable name."""

    def __init__(self, project_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New model")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Architecture")
        self.preview = plain(QLabel())
        self.preview.setWordWrap(True)
        prompt = plain(QLabel(f"Name of the new model in “{one_line(project_name, 120)}”:"))
        prompt.setBuddy(self.name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button: QPushButton = buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)  # Enter creates (when a name is typed); Escape cancels
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addWidget(self.name)
        layout.addWidget(self.preview)
        layout.addWidget(buttons)
        self.name.textChanged.connect(self._update)
        self._update("")
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("x") * 50)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.create_button.setDefault(True)  # the button box picks its own default when shown

    def _update(self, text: str) -> None:
        name = self.model_name()
        self.create_button.setEnabled(bool(name))
        if not text.strip():
            self.preview.setText("Names are stored in lower case.")
        elif not name:
            self.preview.setText("This name has nothing the server accepts.")
        else:
            self.preview.setText(f"The model will be named: {one_line(name, 120)}")

    def model_name(self) -> str:
        return model_name_preview(self.name.text())
