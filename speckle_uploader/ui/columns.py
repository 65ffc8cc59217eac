"""The jobs table's columns, declared once: title, width and alignment beside what each shows."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt

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


@dataclass(frozen=True)
class ColumnSpec:
    title: str
    width: int  # at 1x; the last column stretches
    alignment: Qt.AlignmentFlag = LEFT
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
    Column.MESSAGE: ColumnSpec("Message", 200),
}
