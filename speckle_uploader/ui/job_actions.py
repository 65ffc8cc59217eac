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
    def __init__(self, table: QTableView, model: JobTableModel, context: AppContext,
                 say: Callable[[str], None] = lambda _text: None) -> None:
        super().__init__(table)
        self.table = table
        self.model = model
        self.context = context
        self.say = say  # a line in the window: copies are confirmed, failures to open are explained
        self.cancel = self._action("Cancel", self.cancel_selected, QKeySequence(QKeySequence.StandardKey.Delete),
                                   "Stop the selected uploads (Delete)")
        self.retry = self._action("Retry", self.retry_selected, "Ctrl+R", "Upload the selected files again (Ctrl+R)")
        self.open = self._action("Open in browser", self.open_version, "Ctrl+Return",
                                 "Open the new version in Speckle (double-click)")
        self.folder = self._action("Show in folder", self.show_in_folder, None, "Open the folder of the file")
        self.copy = self._action("Copy message", self.copy_message, QKeySequence(QKeySequence.StandardKey.Copy),
                                 "Copy the message of the selected rows (Ctrl+C)")
        self.link = self._action("Copy link", self.copy_link, "Ctrl+Shift+C",
                                 "Copy the web address of the new version (Ctrl+Shift+C)")
        self.all = [self.cancel, self.retry, self.open, self.link, self.folder, self.copy]
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
        self.link.setEnabled(any(job.can_open for job in jobs))
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

    def links(self) -> list[str]:
        if self.context.session is None:
            return []
        server = self.context.session.server.url
        return [url for job in self.selected_jobs() if (url := job.version_url(server))]

    def open_version(self) -> None:
        for url in self.links():
            if not QDesktopServices.openUrl(QUrl(url)):
                QGuiApplication.clipboard().setText(url)
                self.say(f"No web browser answered; the link is copied instead: {url}")
                return

    def copy_link(self) -> None:
        links = self.links()
        if links:
            QGuiApplication.clipboard().setText("\n".join(links))
            self.say("Link copied." if len(links) == 1 else f"{len(links)} links copied.")

    def show_in_folder(self) -> None:
        for job in self.selected_jobs()[:1]:
            folder = str(job.path.parent)
            if not job.path.parent.is_dir():
                self.say(f"The folder is not there any more: {folder}")
            elif not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
                QGuiApplication.clipboard().setText(folder)
                self.say(f"No file manager answered; the folder's path is copied instead: {folder}")

    def copy_message(self) -> None:
        jobs = self.selected_jobs()
        if not jobs:
            return
        server = self.context.session.server.url if self.context.session is not None else ""
        lines = []
        for job in jobs:
            url = job.version_url(server) if server else None
            lines.append(f"{job.file_name}: {job.message}" + (f" {url}" if url else ""))
        QGuiApplication.clipboard().setText("\n".join(lines))
        self.say("Message copied." if len(jobs) == 1 else f"{len(jobs)} messages copied.")
