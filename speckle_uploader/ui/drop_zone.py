"""The visible invitation to drop files; the whole window accepts the drop."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class DropZone(QFrame):
    """The visible invitation to drop files; the whole window accepts the drop."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.headline = QLabel("<span style='font-size:15pt; font-weight:600'>Drop IFC files or folders here</span>")
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = QLabel()  # our markup around server names, which the window escapes
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.add_button = QPushButton("Add files…")
        self.add_button.setShortcut(QKeySequence.StandardKey.Open)
        self.add_button.setToolTip("Choose files to upload (Ctrl+O)")
        self.folder_button = QPushButton("Add folder…")
        self.folder_button.setToolTip("Choose a folder: every model file in it is uploaded")
        row = QHBoxLayout()
        row.addStretch()
        row.addWidget(self.add_button)
        row.addWidget(self.folder_button)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 18, 16, 18)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        layout.addLayout(row)
        self.set_highlight(False)

    def set_highlight(self, on: bool) -> None:
        colour = "palette(highlight)" if on else "palette(mid)"
        fill = "palette(alternate-base)" if on else "transparent"
        self.setStyleSheet(f"#dropZone {{ border: 2px dashed {colour}; border-radius: 10px; background: {fill}; }}")
