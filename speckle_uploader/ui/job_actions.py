"""What can be done with selected rows: cancel, retry, open the version, show the file, copy the message.
Each action is enabled by what the jobs themselves allow (``Job.can_*``), in the toolbar and the menu alike."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu, QTableView, QToolButton, QWidget

from speckle_uploader.jobs import Job
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.job_table import JobTableModel


class JobActions(QObject):
    def __init__(self, table: QTableView, model: JobTableModel, context: AppContext) -> None:
        super().__init__(table)
        self.table = table
        self.model = model
        self.context = context
        self.cancel = self._action("Cancel", self.cancel_selected, QKeySequence(QKeySequence.StandardKey.Delete),
                                   "Stop the selected uploads (Delete)")
        self.retry = self._action("Retry", self.retry_selected, "Ctrl+R", "Upload the selected files again (Ctrl+R)")
        self.open = self._action("Open in browser", self.open_version, "Ctrl+Return",
                                 "Open the new version in Speckle (double-click)")
        self.folder = self._action("Show in folder", self.show_in_folder, None, "Open the folder of the file")
        self.copy = self._action("Copy message", self.copy_message, QKeySequence(QKeySequence.StandardKey.Copy),
                                 "Copy the message of the selected rows (Ctrl+C)")
        self.all = [self.cancel, self.retry, self.open, self.folder, self.copy]
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._context_menu)
        table.doubleClicked.connect(lambda _index: self.open_version())
        table.selectionModel().selectionChanged.connect(lambda *_: self.update())
        self.update()

    def _action(self, text: str, slot: Callable[[], None], shortcut: QKeySequence | str | None,
                tip: str) -> QAction:
        action = QAction(text, self.table)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(tip)
        self.table.addAction(action)
        return action

    def buttons(self) -> list[QWidget]:
        """One text button per action, for the bar above the table."""
        result: list[QWidget] = []
        for action in self.all:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            result.append(button)
        return result

    def selected_jobs(self) -> list[Job]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.job_at(row) for row in rows]

    def update(self) -> None:
        jobs = self.selected_jobs()
        self.cancel.setEnabled(any(job.can_cancel for job in jobs))
        self.retry.setEnabled(any(job.can_retry for job in jobs))
        self.open.setEnabled(any(job.can_open for job in jobs))
        self.folder.setEnabled(len(jobs) == 1)
        self.copy.setEnabled(bool(jobs))

    def _context_menu(self, position: QPoint) -> None:
        self.update()
        menu = QMenu(self.table)
        for action in self.all:
            menu.addAction(action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    def cancel_selected(self) -> None:
        if self.context.queue is not None:
            for job in self.selected_jobs():
                self.context.queue.cancel(job.id)

    def retry_selected(self) -> None:
        if self.context.queue is not None:
            for job in self.selected_jobs():
                if job.can_retry:
                    self.context.queue.retry(job.id)
        self.update()

    def open_version(self) -> None:
        if self.context.session is None:
            return
        for job in self.selected_jobs():
            url = job.version_url(self.context.session.server.url)
            if url:
                QDesktopServices.openUrl(QUrl(url))

    def show_in_folder(self) -> None:
        for job in self.selected_jobs()[:1]:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(job.path.parent)))

    def copy_message(self) -> None:
        lines = [f"{job.file_name}: {job.message}" for job in self.selected_jobs()]
        QGuiApplication.clipboard().setText("\n".join(lines))
