"""The jobs table: a ``QAbstractTableModel`` over the engine's jobs, with row-level updates.

State changes reach the view at once; byte progress is coalesced to at most ten repaints a second per row,
so a gigabit upload does not flood the Qt thread with ``dataChanged``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor

from speckle_uploader.formatting import format_duration, human_size
from speckle_uploader.jobs import Job, JobEvent, JobQueue, JobState
from speckle_uploader.jobs.rate import RateMeter
from speckle_uploader.ui.columns import COLUMNS, Column
from speckle_uploader.ui.plain import one_line, tooltip

ModelIndex = QModelIndex | QPersistentModelIndex


JOB_ROLE = Qt.ItemDataRole.UserRole + 1  # the Job itself
FRACTION_ROLE = Qt.ItemDataRole.UserRole + 2  # 0..1 for the progress bar, -1 for busy, None for none

# Colours that read on light and dark palettes alike.
STATE_COLOURS = {JobState.SUCCESS: "#2e9e4f", JobState.FAILED: "#d64541", JobState.INVALID_INPUT: "#d64541",
                 JobState.TIMEOUT: "#d64541", JobState.CANCELLED: "#8a8a8a", JobState.INTERRUPTED: "#c77c02"}

PROGRESS_FLUSH_MS = 100


class JobTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._rows: dict[int, int] = {}  # job id -> row
        self._names: dict[str, str] = {}  # project id -> project name
        self._dirty: set[int] = set()
        self.rates = RateMeter()
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_FLUSH_MS)
        self._timer.timeout.connect(self._flush)
        self._unsubscribe: Any = None

    # -- feeding -----------------------------------------------------------------------------
    def attach(self, queue: JobQueue | None) -> None:
        """Show the jobs of ``queue`` (None: no session)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.beginResetModel()
        self._jobs = list(queue.jobs) if queue else []
        self._rows = {job.id: row for row, job in enumerate(self._jobs)}
        self._dirty.clear()
        self.endResetModel()
        if queue is not None:
            self._unsubscribe = queue.subscribe(self.on_job_event)

    def set_project_names(self, names: dict[str, str]) -> None:
        self._names.update(names)

    def on_job_event(self, event: JobEvent, job: Job) -> None:
        if event in (JobEvent.ADDED, JobEvent.RESTORED):
            row = len(self._jobs)
            self.beginInsertRows(QModelIndex(), row, row)
            self._jobs.append(job)
            self._rows[job.id] = row
            self.endInsertRows()
            return
        changed_row = self._rows.get(job.id)
        if changed_row is None:
            return
        if event is JobEvent.PROGRESS:
            if job.state is JobState.UPLOADING:
                self.rates.add(job)
            self._dirty.add(changed_row)
            if not self._timer.isActive():
                self._timer.start()
            return
        self._dirty.discard(changed_row)
        self._changed(changed_row)

    def _flush(self) -> None:
        rows, self._dirty = self._dirty, set()
        for row in sorted(rows):
            self._changed(row)
        if not rows:
            self._timer.stop()

    def _changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    def remove_finished(self, *, failed_too: bool = False) -> list[Job]:
        """Drop the rows of files that became versions or were cancelled (with ``failed_too``, also those that
        failed, timed out or were interrupted), contiguous runs at a time, and return them."""
        def goes(job: Job) -> bool:
            return job.state in (JobState.SUCCESS, JobState.CANCELLED) or (failed_too and job.state.is_final)

        removed: list[Job] = []
        row = len(self._jobs) - 1
        while row >= 0:
            if not goes(self._jobs[row]):
                row -= 1
                continue
            end = row
            while row >= 0 and goes(self._jobs[row]):
                row -= 1
            self.beginRemoveRows(QModelIndex(), row + 1, end)
            removed.extend(self._jobs[row + 1:end + 1])
            del self._jobs[row + 1:end + 1]
            self.endRemoveRows()
        self._rows = {job.id: r for r, job in enumerate(self._jobs)}
        self._dirty.clear()
        return removed

    # -- reading -----------------------------------------------------------------------------
    def job_at(self, row: int) -> Job:
        return self._jobs[row]

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[Column(section)].title
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        column = Column(index.column())
        if role == JOB_ROLE:
            return job
        if role == Qt.ItemDataRole.DisplayRole:
            return one_line(self._text(job, column))
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(self._tooltip(job, column)) or None
        if role == FRACTION_ROLE and column is Column.PROGRESS:
            return self._fraction(job)
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATE and job.state in STATE_COLOURS:
            return QColor(STATE_COLOURS[job.state])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(COLUMNS[column].alignment)
        return None

    def _text(self, job: Job, column: Column) -> str:
        plain = COLUMNS[column].text
        if plain is not None:
            return plain(job)
        if column is Column.TARGET:
            return f"{self._names.get(job.project_id, job.project_id)} / {job.model_name}"
        if column is Column.PROGRESS:
            return self.progress_text(job)
        return self.message_text(job)

    def _tooltip(self, job: Job, column: Column) -> str | None:
        if column is Column.FILE:
            return str(job.path)
        if column in (Column.MESSAGE, Column.PROGRESS, Column.STATE):
            return job.message or None
        # Cut or not, every other cell's whole text is one hover away.
        return self._text(job, column) or None

    def _fraction(self, job: Job) -> float | None:
        if job.state is JobState.UPLOADING:
            return job.upload_fraction
        if job.state is JobState.PROCESSING:
            return job.server_progress if job.server_progress is not None else -1.0
        if job.state in (JobState.REGISTERING, JobState.QUEUED):
            return -1.0
        if job.state is JobState.SUCCESS:
            return 1.0
        return None

    def progress_text(self, job: Job) -> str:
        if job.state is JobState.UPLOADING:
            parts = [f"{job.upload_fraction * 100:.0f}%"]
            rate = self.rates.rate(job)
            if rate:
                parts.append(f"{human_size(rate)}/s")
                parts.append(f"{format_duration((job.size - job.bytes_sent) / rate)} left")
            return " · ".join(parts)
        if job.state is JobState.PROCESSING:
            percent = f"{job.server_progress * 100:.0f}% · " if job.server_progress else ""
            return percent + job.message
        if job.state in (JobState.REGISTERING, JobState.QUEUED):
            return job.message
        if job.state is JobState.SUCCESS:
            return "New version"
        return ""

    @staticmethod
    def message_text(job: Job) -> str:
        """The message column: reasons, retries and results; not what the progress column already says."""
        if job.state in (JobState.REGISTERING, JobState.QUEUED, JobState.PROCESSING):
            return ""
        if job.state is JobState.UPLOADING and job.message.startswith("Uploading"):
            return ""
        if job.state is JobState.SUCCESS and job.version_id:
            return f"{job.message or 'New version'} ({job.version_id})"
        return job.message

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for job in self._jobs:
            if job.state in (JobState.UPLOADING, JobState.REGISTERING):
                key = "uploading"
            elif job.state in (JobState.QUEUED, JobState.PROCESSING):
                key = "processing"
            elif job.state is JobState.WAITING:
                key = "waiting"
            elif job.state is JobState.SUCCESS:
                key = "done"
            elif job.state is JobState.CANCELLED:
                key = "cancelled"
            elif job.state is JobState.INTERRUPTED:
                key = "interrupted"
            else:
                key = "failed"
            counts[key] = counts.get(key, 0) + 1
        order = ("uploading", "processing", "waiting", "done", "failed", "interrupted", "cancelled")
        return " · ".join(f"{counts[k]} {k}" for k in order if counts.get(k))
