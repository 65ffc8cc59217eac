"""Watched folders in the main window and the tray: the button that opens their view, the tray menu (Open,
Pause all, Resume all, Quit), and closing the window while folders are watched, which keeps the app at
work in the tray (said once)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QMainWindow, QMenu, QPushButton, QSystemTrayIcon

from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.watch_model import clean
from speckle_uploader.ui.watch_view import WatchView
from speckle_uploader.watch import RuleState

TOLD_KEY = "watch/told_keeps_running"


class WatchedFolders(QObject):
    def __init__(self, window: QMainWindow, context: AppContext, button: QPushButton,
                 tray_icon: QSystemTrayIcon | None, bring_to_front: Callable[[], None]) -> None:
        super().__init__(window)
        self.window = window
        self.context = context
        self.button = button
        self.tray_icon = tray_icon
        self.bring_to_front = bring_to_front
        self.quitting = False
        self._states: dict[int | None, RuleState] = {}
        self.view = WatchView(context, window)
        self.model = self.view.model
        button.clicked.connect(self.show_view)

        self.menu = QMenu(window)
        self.open_action = self._action("Open Speckle Uploader", bring_to_front)
        self.folders_action = self._action("Watched folders…", self.show_view)
        self.menu.addSeparator()
        self.pause_all_action = self._action("Pause all watched folders", self.view.pause_all)
        self.resume_all_action = self._action("Resume all watched folders", self.view.resume_all)
        self.menu.addSeparator()
        self.quit_action = self._action("Quit", self.quit)
        if tray_icon is not None:  # the merge with tray.py's extra actions: see the branch report
            tray_icon.setContextMenu(self.menu)
        for signal in (self.model.modelReset, self.model.dataChanged):
            signal.connect(self.refresh)
        window.installEventFilter(self)
        self.refresh()

    def _action(self, text: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.menu)
        action.triggered.connect(lambda _checked=False: slot())
        self.menu.addAction(action)
        return action

    def show_view(self) -> None:
        self.view.show()
        self.view.raise_()
        self.view.activateWindow()

    def refresh(self, *_args: object) -> None:
        statuses = self.model.statuses
        active = sum(s.state not in (RuleState.PAUSED, RuleState.STOPPED) for s in statuses)
        trouble = sum(s.state in (RuleState.WAITING_FOR_FOLDER, RuleState.STOPPED) for s in statuses)
        label = "&Watched folders"
        if statuses:
            label += f" · {active} watching" if active else " · paused"
        if trouble:
            label += " ⚠"
        self.button.setText(label)
        self.button.setEnabled(self.context.session is not None)
        self.pause_all_action.setEnabled(active > 0)
        self.resume_all_action.setEnabled(len(statuses) > active)
        self._tell_trouble()
        if self.tray_icon is not None:
            self.tray_icon.setToolTip(f"Speckle Uploader · {active} folders watched" if active
                                      else "Speckle Uploader")

    def _tell_trouble(self) -> None:
        """A rule that stops, or whose folder went away, says so once (a system notification while the window
        is in the background or closed to the tray)."""
        states = {s.rule.id: s.state for s in self.model.statuses}
        for status in self.model.statuses:
            before = self._states.get(status.rule.id)
            if status.state is not before and status.state in (RuleState.STOPPED, RuleState.WAITING_FOR_FOLDER):
                title = ("A watched folder stopped" if status.state is RuleState.STOPPED
                         else "A watched folder cannot be reached")
                self.notify(title, f"{status.rule.folder}: {clean(status.reason)}")
        self._states = states

    def notify(self, title: str, message: str) -> None:
        if self.tray_icon is not None and not self.window.isActiveWindow():
            self.tray_icon.showMessage(title, message, QSystemTrayIcon.MessageIcon.Warning, 10000)

    def keeps_working_reason(self) -> str:
        """Why closing the window should leave the app running ("" when nothing is watched)."""
        watch = self.context.watch
        if watch is None or not watch.watching:
            return ""
        count = sum(s.state not in (RuleState.PAUSED, RuleState.STOPPED) for s in watch.statuses)
        return f"{count} watched {'folder is' if count == 1 else 'folders are'} kept up to date"

    def quit(self) -> None:
        """Quit for real (the window's own close question still asks about uploads on their way)."""
        self.quitting = True
        if not self.window.close():
            self.quitting = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close and isinstance(event, QCloseEvent):
            allowed = bool(getattr(self.window, "allow_close", False))
            reason = self.keeps_working_reason()
            if reason and self.tray_icon is not None and not self.quitting and not allowed:
                event.ignore()
                self.view.hide()
                self.window.hide()
                self._tell_once(reason)
                return True
        return super().eventFilter(watched, event)

    def _tell_once(self, reason: str) -> None:
        settings = self.context.settings
        if settings.value(TOLD_KEY, False, type=bool):
            return
        settings.setValue(TOLD_KEY, True)
        assert self.tray_icon is not None
        self.tray_icon.showMessage("Speckle Uploader keeps watching",
                                   f"{reason.capitalize()} while the window is closed. Open it again from this "
                                   "icon; Quit in its menu stops watching.", QSystemTrayIcon.MessageIcon.Information,
                                   10000)
