"""The visible invitation to drop files; the whole window accepts the drop."""

from __future__ import annotations

import html
from collections.abc import Set as AbstractSet

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from speckle_uploader.jobs.destination import Destination
from speckle_uploader.ui.plain import one_line


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

    def show_target(self, signed_in: bool, target: Destination | None, accepted: AbstractSet[str]) -> None:
        """Where dropped files go: our markup around the server's names, which are escaped."""
        if not signed_in:
            text = "Sign in first, then choose a project and a model on the left."
        elif target is None:
            text = "Choose a project and a model on the left."
        else:
            model = target.model_name or "a model per file"
            kinds = ", ".join("." + e for e in sorted(accepted))
            text = (f"They go to <b>{html.escape(one_line(target.project_name))}</b> / "
                    f"<b>{html.escape(one_line(model))}</b> · this server takes {html.escape(kinds)}")
        self.detail.setText(text)

    def set_highlight(self, on: bool) -> None:
        colour = "palette(highlight)" if on else "palette(mid)"
        fill = "palette(alternate-base)" if on else "transparent"
        self.setStyleSheet(f"#dropZone {{ border: 2px dashed {colour}; border-radius: 10px; background: {fill}; }}")
