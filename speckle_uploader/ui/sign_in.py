"""The sign-in dialog: server, personal access token, checked before it is kept."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from speckle_uploader.speckle import CLOUD_URL, SpeckleError, is_plain_http_remote, parse_proxy, parse_server_address
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.plain import plain
from speckle_uploader.ui.tasks import async_slot

TOKEN_HELP = (
    "Create a token in Speckle: your avatar → Settings → Developer → Access tokens → New token, with the "
    "scopes <b>streams:read</b>, <b>streams:write</b> and <b>profile:read</b>."
)


class SignInDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None, *, message: str = "") -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Sign in to Speckle")
        self.setMinimumWidth(520)

        title = QLabel("<h2 style='margin:0'>Sign in to Speckle</h2>")
        intro = QLabel("Files you drop are uploaded to this server with your personal access token. "
                       "The token is checked now and kept in this computer's keychain.")
        intro.setWordWrap(True)

        self.server = QComboBox()
        self.server.setEditable(True)
        self.server.addItem(CLOUD_URL)
        if context.last_server != CLOUD_URL:
            self.server.insertItem(0, context.last_server)
        self.server.setCurrentIndex(0)
        self.server.setToolTip("app.speckle.systems, or the address of your own Speckle server")

        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("Paste your personal access token")
        self.token.textChanged.connect(self._update_button)

        help_text = QLabel(TOKEN_HELP)
        help_text.setWordWrap(True)
        help_text.setTextFormat(Qt.TextFormat.RichText)
        help_text.setStyleSheet("color: palette(placeholder-text);")

        self.error = plain(QLabel())  # the server's words, never its markup
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d64541;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_error(message)

        form = QFormLayout()
        form.addRow("Server", self.server)
        form.addRow("Token", self.token)
        self.proxy = QLineEdit(context.proxy)
        self.proxy.setPlaceholderText("None: the system's proxy settings apply")
        self.proxy.setToolTip("Only if your office needs it, e.g. http://proxy.example.com:8080")
        form.addRow("Proxy", self.proxy)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = self.buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        # Enter signs in, from any field: no button becomes the default by taking the focus.
        for button in self.buttons.findChildren(QPushButton):
            button.setAutoDefault(False)
        self.sign_in_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(help_text)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._busy = False
        self._update_button()
        self.token.setFocus()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.adjustSize()

    def _update_button(self) -> None:
        self.sign_in_button.setEnabled(bool(self.token.text().strip()) and not self._busy)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.sign_in_button.setText("Checking…" if busy else "Sign in")
        self.server.setEnabled(not busy)
        self.token.setEnabled(not busy)
        self.proxy.setEnabled(not busy)
        self._update_button()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Enter anywhere (the server's editable list included) signs in once a token is there.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            if self.sign_in_button.isEnabled():
                self.sign_in_button.click()
            event.accept()
            return
        super().keyPressEvent(event)

    @async_slot()
    async def submit(self) -> None:
        if self._busy or not self.token.text().strip():
            return
        try:
            address = parse_server_address(self.server.currentText())
        except ValueError as exc:
            self.show_error(str(exc))
            self.server.setFocus()
            return
        try:
            proxy = parse_proxy(self.proxy.text())
        except ValueError as exc:
            self.show_error(str(exc))
            self.proxy.setFocus()
            self.proxy.selectAll()
            return
        if is_plain_http_remote(address.url) and not self.confirm_plain_http(address.url):
            return
        self.server.setCurrentText(address.url)  # what was pasted, as the server's address
        self.show_error("")
        self._set_busy(True)
        try:
            await self.context.sign_in(address.url, self.token.text().strip(), proxy=proxy,
                                       select=(address.project_id, address.model_id))
        except SpeckleError as exc:
            self._set_busy(False)
            self.show_error(str(exc))
            # The next paste goes where it belongs: the token field, not whatever took the focus meanwhile.
            self.token.setFocus()
            self.token.selectAll()
            return
        self._set_busy(False)
        self.accept()

    def confirm_plain_http(self, server_url: str) -> bool:
        answer = QMessageBox.warning(
            self, "Unencrypted connection",
            f"{server_url} does not use HTTPS: your token and files would cross the network unencrypted. "
            "Sign in anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
