"""The line at the top of the window: who is signed in where (server text as plain text), a notice, and the
Sign in / Sign out button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from speckle_uploader.speckle import Session
from speckle_uploader.ui.icons import avatar
from speckle_uploader.ui.plain import plain, tooltip


class AccountHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.avatar = QLabel()
        self.user_name = plain(QLabel())
        self.user_name.setStyleSheet("font-weight: 600;")
        self.server_name = plain(QLabel())
        self.server_name.setStyleSheet("color: palette(placeholder-text);")
        self.server_name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = plain(QLabel())
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b26b00;")
        self.sign_button = QPushButton("Sign out")
        who = QVBoxLayout()
        who.setSpacing(0)
        who.addWidget(self.user_name)
        who.addWidget(self.server_name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.avatar)
        layout.addLayout(who)
        layout.addSpacing(16)
        layout.addWidget(self.notice, 1)
        layout.addWidget(self.sign_button)
        self.row = layout

    def add_before_sign_button(self, widget: QWidget) -> None:
        self.row.insertWidget(self.row.indexOf(self.sign_button), widget)

    def signing_in(self, server: str) -> None:
        self.user_name.setText("Signing in…")
        self.server_name.setText(server)

    def signed_in(self, session: Session, notice: str) -> None:
        self.user_name.setText(session.user.name)
        self.server_name.setText(f"{session.server.name} · {session.server.url}")
        self.avatar.setPixmap(avatar(session.user.name, session.user.avatar))
        self.avatar.setToolTip(tooltip(session.user.email or session.user.name))
        self.notice.setText(notice)
        self.sign_button.setText("Sign out")

    def signed_out(self) -> None:
        self.user_name.setText("Not signed in")
        self.server_name.setText("Sign in to choose a project")
        self.avatar.setPixmap(avatar("?", None))
        self.avatar.setToolTip("")
        self.notice.setText("")
        self.sign_button.setText("Sign in…")
