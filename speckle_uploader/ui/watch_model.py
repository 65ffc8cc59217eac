"""The watched folders as a table: one row per rule, following the service's live statuses."""

from __future__ import annotations

import enum
import html
import re
import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from speckle_uploader.watch import ModelMode, RuleState, RuleStatus, WatchService

Index = QModelIndex | QPersistentModelIndex
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
TOOLTIP_LINES = 30  # files listed in the "not on this computer" tooltip


def clean(text: str, limit: int = 300) -> str:
    """Server or file-system text for display: without control characters, on one line, cut to ``limit``."""
    shown = " ".join(_CONTROL.sub("", text[: limit + 1]).split())
    return shown[:limit].rstrip() + "…" if len(text) > limit else shown


def tooltip(lines: list[str]) -> str:
    """A tooltip that shows each line as written (a tooltip has no plain-text switch: escape it)."""
    body = "<br>".join(html.escape(clean(line, 500)) for line in lines if line)
    return f"<p style='white-space:pre'>{body}</p>" if body else ""


class Col(enum.IntEnum):
    FOLDER = 0
    TARGET = 1
    STATE = 2
    LAST = 3
    FILES = 4
    OFFLINE = 5


HEADERS = {Col.FOLDER: "Folder", Col.TARGET: "Goes to", Col.STATE: "State", Col.LAST: "Last published",
           Col.FILES: "Files", Col.OFFLINE: "Online only"}
HEADER_TIPS = {Col.FILES: "Files in the folder the rule publishes",
               Col.OFFLINE: "Files not on this computer (online-only OneDrive or Dropbox placeholders): not "
                            "downloaded, not published"}
WIDTHS = {Col.FOLDER: 240, Col.TARGET: 270, Col.STATE: 240, Col.LAST: 170, Col.FILES: 50, Col.OFFLINE: 90}
STATE_WORDS = {RuleState.WATCHING: "Watching", RuleState.PUBLISHING: "Publishing", RuleState.PAUSED: "Paused",
               RuleState.WAITING_FOR_FOLDER: "Waiting for the folder", RuleState.STOPPED: "Stopped"}
STATE_COLOURS = {RuleState.WAITING_FOR_FOLDER: "#b26b00", RuleState.STOPPED: "#c62828"}


def target_text(status: RuleStatus) -> str:
    rule = status.rule
    project = clean(rule.project_name or rule.project_id, 80)
    if rule.model_mode is ModelMode.FIXED:
        model = clean(rule.model_name.lower(), 80)
    elif rule.model_mode is ModelMode.PER_FILE:
        model = "a model per file"
    else:
        model = f"named {clean(rule.model_name, 80)}"
    return f"{project} / {model}"


def state_text(status: RuleStatus) -> str:
    words = STATE_WORDS[status.state]
    reason = status.reason.strip()
    if status.state in (RuleState.WAITING_FOR_FOLDER, RuleState.STOPPED) and reason:
        return f"{words}: {clean(reason)}"
    return words


def last_text(status: RuleStatus) -> str:
    job = status.last_job
    if job is None:
        return "Nothing yet"
    when = job.finished_at or job.created_at
    stamp = time.strftime("%d %b %H:%M", time.localtime(when)) if when else ""
    return f"{clean(job.file_name, 80)} · {stamp}" if stamp else clean(job.file_name, 80)


class RuleTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.statuses: list[RuleStatus] = []
        self.server_url = ""
        self.service: WatchService | None = None

    def attach(self, service: WatchService | None, server_url: str = "") -> None:
        """Follow ``service`` (None after sign-out)."""
        self.server_url = server_url
        self.service = service
        if service is not None:
            service.subscribe(self._changed)
        self.reload(service)

    def reload(self, service: WatchService | None) -> None:
        """The rules changed (added, edited, removed): read them again."""
        self.beginResetModel()
        self.statuses = list(service.statuses) if service is not None else []
        self.endResetModel()

    def row_of(self, rule_id: int | None) -> int:
        for row, status in enumerate(self.statuses):
            if status.rule.id == rule_id:
                return row
        return -1

    def status_at(self, row: int) -> RuleStatus | None:
        return self.statuses[row] if 0 <= row < len(self.statuses) else None

    def version_url(self, row: int) -> str | None:
        status = self.status_at(row)
        if status is None or status.last_job is None:
            return None
        return status.last_job.version_url(self.server_url)

    def _changed(self, status: RuleStatus) -> None:
        row = self.row_of(status.rule.id)
        if row < 0:  # a rule added elsewhere: read them all again
            if self.service is not None and status in self.service.statuses:
                self.reload(self.service)
            return
        self.statuses[row] = status
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Col) - 1))

    # -- Qt's model interface ----------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.statuses)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Col)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
                   ) -> object:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Col(section)]
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(Col(section))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        status = self.status_at(index.row())
        if status is None or not index.isValid():
            return None
        column = Col(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(status, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(status, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column is Col.STATE and status.state in STATE_COLOURS:
                return QBrush(QColor(STATE_COLOURS[status.state]))
            if column is Col.LAST and status.last_job is not None:
                return QBrush(QColor("#1a66c9"))
        if role == Qt.ItemDataRole.FontRole and column is Col.LAST and status.last_job is not None:
            font = QFont()
            font.setUnderline(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Col.FILES, Col.OFFLINE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, status: RuleStatus, column: Col) -> str:
        if column is Col.FOLDER:
            return clean(str(status.rule.folder), 500)
        if column is Col.TARGET:
            return target_text(status)
        if column is Col.STATE:
            return state_text(status)
        if column is Col.LAST:
            return last_text(status)
        if column is Col.FILES:
            return str(status.files_seen)
        count = len(status.not_on_this_computer)
        return str(count) if count else ""

    def _tooltip(self, status: RuleStatus, column: Col) -> str:
        rule = status.rule
        if column is Col.FOLDER:
            return tooltip([str(rule.folder), "with its subfolders" if rule.subfolders else "this folder only",
                            "files: " + (" ".join(rule.patterns) or "the types the server takes")])
        if column is Col.TARGET:
            return tooltip([f"Project: {rule.project_name or rule.project_id}", target_text(status)])
        if column is Col.STATE:
            return tooltip([state_text(status), status.reason if status.state is RuleState.PAUSED else "",
                            f"Latest: {status.last_note}" if status.last_note else ""])
        if column is Col.LAST:
            url = self.version_url(self.statuses.index(status))
            return tooltip([f"Open in the browser (double-click): {url}"] if url else [])
        if column is Col.OFFLINE and status.not_on_this_computer:
            names = status.not_on_this_computer
            more = [f"… and {len(names) - TOOLTIP_LINES} more"] if len(names) > TOOLTIP_LINES else []
            return tooltip(["Online-only files (not downloaded, not published):", *names[:TOOLTIP_LINES], *more])
        return ""
