"""The *Watched folders* window: every rule of the signed-in server with its live state, and what to do with
them (add, edit, pause or resume one or all, remove), plus starting the app at login."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.rule_dialog import RuleDialog, plain
from speckle_uploader.ui.watch_model import WIDTHS, Col, RuleTableModel, clean
from speckle_uploader.watch import RuleState, RuleStatus

log = logging.getLogger(__name__)


class Autostart(Protocol):
    """``speckle_uploader.autostart`` (Qt-free, one entry per desktop: XDG, the Windows Run key, a LaunchAgent)."""

    def enable(self, argv: Sequence[str]) -> None: ...
    def disable(self) -> None: ...
    def is_enabled(self) -> bool: ...
    def launch_command(self, *arguments: str) -> list[str]: ...


def load_autostart() -> Autostart | None:
    try:
        return cast(Autostart, importlib.import_module("speckle_uploader.autostart"))
    except ImportError:  # a build without it: the option is not offered
        return None


class MiddleElided(QStyledItemDelegate):
    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class WatchView(QDialog):
    """A window of its own beside the main one (not modal: uploads and drops go on meanwhile)."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Watched folders – Speckle Uploader")
        self.setWindowFlag(Qt.WindowType.Window)
        self.model = RuleTableModel(self)
        self.open_url: Callable[[str], object] = lambda url: QDesktopServices.openUrl(QUrl(url))
        self.confirm: Callable[[str], bool] = self._ask
        self.autostart = load_autostart()
        self._build()
        self.model.modelReset.connect(self.update_actions)
        self.model.dataChanged.connect(self.update_actions)
        context.signed_in.connect(self._follow)
        context.signed_out.connect(self._follow)
        self._follow()

    def _build(self) -> None:
        intro = plain(QLabel("Each new export saved in these folders becomes the next version of its model, once "
                             "it has stopped changing. The same bytes are never published twice."), hint=True)
        self.add_button = QPushButton("&Add folder…")
        self.add_button.clicked.connect(self.add_rule)
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.clicked.connect(self.edit_rule)
        self.pause_button = QPushButton("&Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.remove_button = QPushButton("Re&move…")
        self.remove_button.clicked.connect(self.remove_rule)
        self.pause_all_button = QPushButton("Pause a&ll")
        self.pause_all_button.clicked.connect(self.pause_all)
        self.resume_all_button = QPushButton("Res&ume all")
        self.resume_all_button.clicked.connect(self.resume_all)
        bar = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.pause_button, self.remove_button):
            bar.addWidget(button)
        bar.addStretch()
        bar.addWidget(self.pause_all_button)
        bar.addWidget(self.resume_all_button)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setItemDelegateForColumn(Col.FOLDER, MiddleElided(self.table))  # keeps the folder's name
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in WIDTHS.items():
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(Col.STATE, QHeaderView.ResizeMode.Stretch)  # the reason takes the room
        header.setMinimumSectionSize(50)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self.update_actions)

        self.empty_hint = plain(QLabel(), hint=True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = plain(QLabel())  # the selected rule's reason and latest news, whole
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("&Open last version")
        self.open_button.setToolTip("Open the last published version in the browser")
        self.open_button.clicked.connect(self.open_last_version)
        detail_row = QHBoxLayout()
        detail_row.addWidget(self.detail, 1)
        detail_row.addWidget(self.open_button)

        self.start_at_login = QCheckBox("&Start Speckle Uploader when I log in (keeps these folders watched)")
        if self.autostart is None:
            self.start_at_login.setEnabled(False)
            self.start_at_login.setToolTip("Not available in this build")
        else:
            self.start_at_login.setChecked(self._autostart_enabled())
        self.start_at_login.toggled.connect(self.set_start_at_login)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        footer = QHBoxLayout()
        footer.addWidget(self.start_at_login, 1)
        footer.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_hint, 1)
        layout.addLayout(detail_row)
        layout.addLayout(footer)
        self.resize(1120, 420)

    # -- following the service ---------------------------------------------------------------
    def _follow(self) -> None:
        session = self.context.session
        self.model.attach(self.context.watch, session.server.url if session else "")
        self.update_actions()

    def selected(self) -> RuleStatus | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.status_at(rows[0].row()) if rows else None

    def select_rule(self, rule_id: int | None) -> None:
        row = self.model.row_of(rule_id)
        if row >= 0:
            self.table.selectRow(row)

    def update_actions(self, *_args: object) -> None:
        signed_in = self.context.watch is not None
        status = self.selected()
        statuses = self.model.statuses
        self.add_button.setEnabled(signed_in)
        self.edit_button.setEnabled(status is not None)
        self.remove_button.setEnabled(status is not None)
        self.pause_button.setEnabled(status is not None)
        resumable = status is not None and status.state in (RuleState.PAUSED, RuleState.STOPPED)
        self.pause_button.setText("&Resume" if resumable else "&Pause")
        self.pause_all_button.setEnabled(any(s.state not in (RuleState.PAUSED, RuleState.STOPPED) for s in statuses))
        self.resume_all_button.setEnabled(any(s.state in (RuleState.PAUSED, RuleState.STOPPED) for s in statuses))
        self.table.setVisible(bool(statuses))
        self.empty_hint.setVisible(not statuses)
        self.empty_hint.setText("No watched folders yet. Add the folder your exports are saved to, and each new "
                                "export becomes a version by itself." if signed_in else
                                "Sign in to see and add watched folders.")
        url = self.model.version_url(self.model.row_of(status.rule.id)) if status else None
        self.open_button.setEnabled(url is not None)
        self.detail.setText(self._detail(status))

    def _detail(self, status: RuleStatus | None) -> str:
        if status is None:
            return ""
        parts = [f"{status.rule.folder.name or status.rule.folder}:"]
        if status.reason and status.state is not RuleState.PAUSED:
            parts.append(clean(status.reason))
        parts.append(clean(status.last_note) if status.last_note else "nothing published yet")
        return " ".join(parts)

    # -- actions -----------------------------------------------------------------------------
    def add_rule(self) -> RuleDialog:
        dialog = RuleDialog(self.context, self)
        dialog.accepted.connect(lambda: self._added(dialog))
        dialog.open()
        self.rule_dialog = dialog
        return dialog

    def _added(self, dialog: RuleDialog) -> None:
        rule = dialog.rule()
        if self.context.watch is None or isinstance(rule, str):
            return
        status = self.context.watch.add(rule)
        self.model.reload(self.context.watch)
        self.select_rule(status.rule.id)

    def edit_rule(self) -> RuleDialog | None:
        status = self.selected()
        if status is None:
            return None
        dialog = RuleDialog(self.context, self, rule=status.rule)
        dialog.accepted.connect(lambda: self._edited(dialog))
        dialog.open()
        self.rule_dialog = dialog
        return dialog

    def _edited(self, dialog: RuleDialog) -> None:
        rule = dialog.rule()
        if self.context.watch is None or isinstance(rule, str):
            return
        status = self.context.watch.update(rule)
        self.model.reload(self.context.watch)
        self.select_rule(status.rule.id)

    def toggle_pause(self) -> None:
        status = self.selected()
        if status is None or self.context.watch is None or status.rule.id is None:
            return
        if status.state in (RuleState.PAUSED, RuleState.STOPPED):
            self.context.watch.resume(status.rule.id)
        else:
            self.context.watch.pause(status.rule.id)
        self.update_actions()

    def pause_all(self) -> None:
        if self.context.watch is not None:
            self.context.watch.pause_all()
            self.update_actions()

    def resume_all(self) -> None:
        if self.context.watch is not None:
            self.context.watch.resume_all()
            self.update_actions()

    def remove_rule(self) -> None:
        status = self.selected()
        if status is None or self.context.watch is None or status.rule.id is None:
            return
        if not self.confirm(f"Stop watching {status.rule.folder} and forget this rule? Versions already "
                            "published stay on the server."):
            return
        self.context.watch.remove(status.rule.id)
        self.model.reload(self.context.watch)

    def open_last_version(self) -> None:
        status = self.selected()
        url = self.model.version_url(self.model.row_of(status.rule.id)) if status else None
        if url:
            self.open_url(url)

    def _double_clicked(self, index: QModelIndex) -> None:
        if index.column() == Col.LAST and self.model.version_url(index.row()):
            self.open_last_version()
        else:
            self.edit_rule()

    def _ask(self, question: str) -> bool:
        return self._message(QMessageBox.Icon.Question, question, ask=True)

    def _message(self, icon: QMessageBox.Icon, text: str, *, ask: bool = False) -> bool:
        """A message box that shows ``text`` as written (a folder's name may look like markup)."""
        box = QMessageBox(icon, "Watched folders", text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        if ask:
            box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    # -- start at login ----------------------------------------------------------------------
    def _autostart_enabled(self) -> bool:
        try:
            return self.autostart is not None and self.autostart.is_enabled()
        except OSError:
            return False

    def set_start_at_login(self, enabled: bool) -> None:
        if self.autostart is None:
            return
        try:
            if enabled:
                self.autostart.enable(self.autostart.launch_command())
            else:
                self.autostart.disable()
        except (OSError, ValueError) as exc:
            log.warning("start at login not changed: %s", exc)
            self._message(QMessageBox.Icon.Warning, f"Could not change starting at login: {exc}")
        self.start_at_login.blockSignals(True)
        self.start_at_login.setChecked(self._autostart_enabled())
        self.start_at_login.blockSignals(False)
