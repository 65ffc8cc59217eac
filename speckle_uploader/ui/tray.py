"""The system tray icon: brings the window back, carries notifications while the window is in the background,
and has a menu (Open, Pause all, Resume all, Quit) that other views can add their own entries to."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from speckle_uploader.ui.icons import app_icon

Icon = QSystemTrayIcon.MessageIcon


class Tray:
    def __init__(self, window: QWidget, bring_to_front: Callable[[], None], *,
                 pause: Callable[[], None] | None = None, resume: Callable[[], None] | None = None,
                 quit_app: Callable[[], None] | None = None) -> None:
        self.window = window
        self.icon: QSystemTrayIcon | None = None
        # The menu exists with or without a tray (tests, and views that add to it, need not care).
        self.menu = QMenu(window)
        self.open_action = self._add("Open Speckle Uploader", bring_to_front)
        self.menu.addSeparator()
        self.pause_action = self._add("Pause all uploads", pause)
        self.resume_action = self._add("Resume all uploads", resume)
        self._extras = self.menu.addSeparator()  # entries added by other views go above this line
        self.quit_action = self._add("Quit", quit_app)
        self.set_paused(False)
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(app_icon(), window)
            self.icon.setToolTip("Speckle Uploader")
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
            self.icon.show()
        self._bring_to_front = bring_to_front

    def _add(self, text: str, slot: Callable[[], None] | None) -> QAction:
        action = QAction(text, self.menu)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        else:
            action.setEnabled(False)
        self.menu.addAction(action)
        return action

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is not QSystemTrayIcon.ActivationReason.Context:
            self._bring_to_front()

    def own_menu(self) -> None:
        """Put this menu (back) on the icon, after a view set one of its own."""
        if self.icon is not None:
            self.icon.setContextMenu(self.menu)

    def add_action(self, action: QAction) -> None:
        """A view's own entry (say "Watched folders…"), placed above Quit."""
        self.menu.insertAction(self._extras, action)

    def set_paused(self, paused: bool) -> None:
        """Offer what makes sense now: Pause all while running, Resume all while paused."""
        self.pause_action.setVisible(not paused)
        self.resume_action.setVisible(paused)

    @property
    def available(self) -> bool:
        return self.icon is not None

    def notify(self, title: str, message: str, icon: Icon = Icon.Information) -> None:
        """A system notification, only while the window is in the background."""
        if self.icon is not None and not self.window.isActiveWindow():
            self.icon.showMessage(title, message, icon, 8000)
