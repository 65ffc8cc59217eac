"""The system tray icon: brings the window back, and carries notifications while it is in the background."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from speckle_uploader.ui.icons import app_icon

Icon = QSystemTrayIcon.MessageIcon


class Tray:
    def __init__(self, window: QWidget, bring_to_front: Callable[[], None]) -> None:
        self.window = window
        self.icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(app_icon(), window)
            self.icon.setToolTip("Speckle Uploader")
            self.icon.activated.connect(lambda *_args: bring_to_front())
            self.icon.show()

    @property
    def available(self) -> bool:
        return self.icon is not None

    def notify(self, title: str, message: str, icon: Icon = Icon.Information) -> None:
        """A system notification, only while the window is in the background."""
        if self.icon is not None and not self.window.isActiveWindow():
            self.icon.showMessage(title, message, icon, 8000)
