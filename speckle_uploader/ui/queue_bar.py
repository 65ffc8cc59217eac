"""Under the table: the batch line, and what controls the whole queue (pause, speed limit, retry the failed
ones, clear finished ones). Above it: a filter for the rows."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from speckle_uploader.jobs import Job, JobQueue, JobState
from speckle_uploader.jobs.batch import Batch
from speckle_uploader.ui.job_table import JobTableModel

# (label, bytes per second); 1024-based as sizes are shown.
SPEEDS: list[tuple[str, float | None]] = [
    ("No speed limit", None), ("Up to 50 MB/s", 50 * 1024 ** 2), ("Up to 20 MB/s", 20 * 1024 ** 2),
    ("Up to 10 MB/s", 10 * 1024 ** 2), ("Up to 5 MB/s", 5 * 1024 ** 2), ("Up to 2 MB/s", 2 * 1024 ** 2),
    ("Up to 1 MB/s", 1024 ** 2), ("Up to 500 KB/s", 500 * 1024),
]
SPEED_SETTING = "limit_rate"


def files_are(count: int) -> str:
    return "1 file is" if count == 1 else f"{count:,} files are"


class QueueBar(QWidget):
    def __init__(self, table: QTableView, model: JobTableModel, settings: QSettings,
                 queue: Callable[[], JobQueue | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = table
        self.model = model
        self.settings = settings
        self.queue = queue
        self.batch = Batch()

        self.line = QLabel()
        self.line.setTextFormat(Qt.TextFormat.PlainText)
        self.line.setWordWrap(True)
        self.pause_button = QPushButton("Pause all")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Start no new upload until resumed; uploads already sending finish")
        self.pause_button.toggled.connect(self._pause_toggled)
        self.speed = QComboBox()
        for label, rate in SPEEDS:
            self.speed.addItem(label, rate)
        self.speed.setToolTip("Leave room for others on a shared office link: all uploads together stay under this")
        saved = settings.value(SPEED_SETTING)
        index = self.speed.findData(float(saved)) if saved not in (None, "", "0") else 0
        self.speed.setCurrentIndex(max(0, index))
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.retry_failed = QPushButton("Retry failed")
        self.retry_failed.setToolTip("Upload every failed, cancelled or interrupted file again")
        self.retry_failed.clicked.connect(self.retry_all_failed)
        self.clear = QToolButton()
        self.clear.setText("Clear finished")
        self.clear.setToolTip("Remove the rows of files that became versions or were cancelled; failures stay")
        self.clear.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.clear_failed = QAction("Clear failed ones too", self)
        menu = QMenu(self.clear)
        menu.addAction(self.clear_failed)
        self.clear.setMenu(menu)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.speed)
        buttons.addStretch()
        buttons.addWidget(self.retry_failed)
        buttons.addWidget(self.clear)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.line)
        layout.addLayout(buttons)

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter rows")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Show only rows whose file, project, model, state or message contains this")
        self.filter.setMaximumWidth(260)
        self.filter.textChanged.connect(lambda _text: self.apply_filter())
        model.rowsInserted.connect(lambda _parent, first, last: self.apply_filter(first, last))
        model.modelReset.connect(lambda: self.apply_filter())

    # -- the queue -----------------------------------------------------------------------------
    def attach(self, queue: JobQueue | None) -> None:
        """A new session's queue: it gets the remembered speed limit, and the pause button follows it."""
        self.batch = Batch()
        self.pause_button.setChecked(False)
        if queue is not None:
            queue.set_limit_rate(self.speed.currentData())
            queue.subscribe(lambda event, job: self.batch.on_event(event, job, lambda: queue.jobs))
            queue.pause_listeners.append(self._paused_elsewhere)

    def _pause_toggled(self, on: bool) -> None:
        self.pause_button.setText("Resume" if on else "Pause all")
        queue = self.queue()
        if queue is None:
            return
        if on:
            queue.pause()
        else:
            queue.resume()
        self.refresh()

    def _paused_elsewhere(self, paused: bool) -> None:  # the tray's menu, say
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)

    def _speed_changed(self, _index: int) -> None:
        rate = self.speed.currentData()
        self.settings.setValue(SPEED_SETTING, rate or 0)
        queue = self.queue()
        if queue is not None:
            queue.set_limit_rate(rate)

    def retry_all_failed(self) -> list[Job]:
        queue = self.queue()
        if queue is None:
            return []
        jobs = [job for job in self.model.jobs if job.can_retry]
        for job in jobs:
            queue.retry(job.id)
        return jobs

    # -- what it says --------------------------------------------------------------------------
    def refresh(self) -> None:
        jobs = self.model.jobs
        progress = self.batch.progress(jobs, self.model.rates.rate)
        text = progress.line()
        queue = self.queue()
        if queue is not None and queue.paused:
            waiting = sum(job.state is JobState.WAITING for job in jobs)
            sending = sum(job.state is JobState.UPLOADING for job in jobs)
            paused = f"Paused: {files_are(waiting)} waiting" if waiting else "Paused"
            if sending:
                paused += f"; {files_are(sending).replace(' is', ' is still').replace(' are', ' are still')} " \
                          "sending and will finish"
            text = f"{paused}. " + text if text else paused + "."
        self.line.setText(text)
        self.line.setVisible(bool(text))
        self.retry_failed.setEnabled(any(job.can_retry for job in jobs))
        self.clear.setEnabled(any(job.state.is_final for job in jobs))

    def apply_filter(self, first: int = 0, last: int | None = None) -> None:
        needle = self.filter.text().strip().casefold()
        rows = range(first, self.model.rowCount() if last is None else last + 1)
        for row in rows:
            self.table.setRowHidden(row, bool(needle) and needle not in self._haystack(row))

    def _haystack(self, row: int) -> str:
        return " ".join(str(self.model.index(row, column).data() or "")
                        for column in range(self.model.columnCount())).casefold()
