"""The jobs table's columns, declared once: title, width, sizing and alignment beside what each shows.

Columns fit their content once rows have been added (a sample of rows, debounced), never on a progress update;
the Message column takes what is left. A cut cell's whole text is its tooltip (``job_table``)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer
from PySide6.QtWidgets import QHeaderView, QTableView

from speckle_uploader.formatting import human_size
from speckle_uploader.jobs import Job, JobState

LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

STATE_LABELS = {
    JobState.WAITING: "Waiting", JobState.UPLOADING: "Uploading", JobState.REGISTERING: "Registering",
    JobState.QUEUED: "Queued", JobState.PROCESSING: "Processing", JobState.SUCCESS: "Done",
    JobState.FAILED: "Failed", JobState.CANCELLED: "Cancelled", JobState.INVALID_INPUT: "Invalid file",
    JobState.TIMEOUT: "Timed out", JobState.INTERRUPTED: "Interrupted",
}


class Column(enum.IntEnum):
    FILE = 0
    TARGET = 1
    SIZE = 2
    STATE = 3
    PROGRESS = 4
    STARTED = 5
    MESSAGE = 6  # last: it stretches


class Sizing(enum.Enum):
    FIT = "fit"  # the user may resize; fitted to the header and a sample of rows when rows are added
    STRETCH = "stretch"  # takes the room left


@dataclass(frozen=True)
class ColumnSpec:
    title: str
    width: int  # at 1x: the least it is given
    alignment: Qt.AlignmentFlag = LEFT
    sizing: Sizing = Sizing.FIT
    most: int = 320  # the widest fitting makes it at 1x (the tooltip has the rest)
    # The cell's text for columns that show a plain property of the job (None: the table model composes it).
    text: Callable[[Job], str] | None = None


def _started(job: Job) -> str:
    return dt.datetime.fromtimestamp(job.started_at or job.created_at).strftime("%H:%M:%S")


COLUMNS: dict[Column, ColumnSpec] = {
    Column.FILE: ColumnSpec("File", 170, text=lambda job: job.file_name),
    Column.TARGET: ColumnSpec("Project / model", 160),
    Column.SIZE: ColumnSpec("Size", 64, RIGHT, text=lambda job: human_size(job.size) if job.size else ""),
    Column.STATE: ColumnSpec("State", 84, text=lambda job: STATE_LABELS[job.state]),
    Column.PROGRESS: ColumnSpec("Progress", 200),
    Column.STARTED: ColumnSpec("Started", 64, text=_started),
    Column.MESSAGE: ColumnSpec("Message", 200, sizing=Sizing.STRETCH),
}


SAMPLE_ROWS = 25  # rows measured at each end of the table: fitting stays cheap for thousands of rows
FIT_DELAY_MS = 150  # a batch of rows added together is measured once


def fit_columns(view: QTableView) -> None:
    """Size each fitted column to its header and a sample of its cells, between its least and most width."""
    header = view.horizontalHeader()
    model = view.model()
    rows = model.rowCount()
    sample = sorted(set(range(min(rows, SAMPLE_ROWS))) | set(range(max(0, rows - SAMPLE_ROWS), rows)))
    scale = max(1.0, view.fontMetrics().height() / 16)  # the declared widths are for a 16 px line
    for column, spec in COLUMNS.items():
        if spec.sizing is Sizing.STRETCH:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
            continue
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        wanted = header.sectionSizeHint(column)
        for row in sample:
            wanted = max(wanted, view.sizeHintForIndex(model.index(row, column)).width())
        least, most = int(spec.width * scale), int(spec.most * scale)
        view.setColumnWidth(column, max(least, min(wanted, most), header.sectionSize(column) if rows else 0))


class ColumnFitter(QObject):
    """Fits the columns when rows arrive or the table is reset, at most once per batch."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self.view = view
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FIT_DELAY_MS)
        self._timer.timeout.connect(self.fit_now)
        model = view.model()
        model.rowsInserted.connect(self._later)
        model.modelReset.connect(self._later)
        fit_columns(view)

    def _later(self, *_args: QModelIndex | int) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def fit_now(self) -> None:
        self._timer.stop()
        fit_columns(self.view)
