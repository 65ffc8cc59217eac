"""The main window: who is signed in, where files go, a place to drop them, and the live jobs table."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragLeaveEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from speckle_uploader.jobs import Job, JobEvent, JobState
from speckle_uploader.ui.closing import CloseChoice, ask_on_close, sentence
from speckle_uploader.ui.columns import Column, ColumnFitter
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.drop_zone import DropZone
from speckle_uploader.ui.header import AccountHeader
from speckle_uploader.ui.icons import app_icon
from speckle_uploader.ui.intake import FileIntake
from speckle_uploader.ui.job_actions import JobActions
from speckle_uploader.ui.job_table import JobTableModel
from speckle_uploader.ui.pickers import TargetPicker
from speckle_uploader.ui.progress_delegate import ProgressDelegate
from speckle_uploader.ui.queue_bar import QueueBar, files_are
from speckle_uploader.ui.sign_in import SignInDialog
from speckle_uploader.ui.support import diagnostics_report, fit_to_screen
from speckle_uploader.ui.tasks import async_slot, spawn
from speckle_uploader.ui.tray import Icon, Tray
from speckle_uploader.ui.watch_tray import WatchedFolders


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle("Speckle Uploader")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(720, 480)
        fit_to_screen(self)
        self.setAcceptDrops(True)
        self.allow_close = False

        self.table_model = JobTableModel(self)
        self._build()
        self.row_actions = JobActions(self.table, self.table_model, context, say=self.say)
        for button in self.row_actions.buttons():
            self.action_bar.addWidget(button)
        self.action_bar.addStretch()
        self.action_bar.addWidget(self.queue_bar.filter)
        self.tray = Tray(self, self._bring_to_front, pause=self.pause_all, resume=self.resume_all,
                         quit_app=self.quit_app)
        self.queue_bar.pause_button.toggled.connect(self.tray.set_paused)
        self.watched = WatchedFolders(self, context, self.watch_button, self.tray.icon, self._bring_to_front)
        # One tray menu: the watched folders' entries join the uploads' (Open, Pause/Resume all uploads, Quit).
        for action in (self.watched.folders_action, self.watched.pause_all_action, self.watched.resume_all_action):
            self.tray.add_action(action)
        self.tray.own_menu()
        self._was_busy = False
        self.pending_paths: list[Path] = []  # opened before anyone signed in
        self.sign_in_dialog: SignInDialog | None = None

        # The summary follows the table's own signals, at most every 100 ms, and costs nothing when idle.
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(100)
        self._summary_timer.timeout.connect(self._refresh_summary)
        for signal in (self.table_model.rowsInserted, self.table_model.rowsRemoved, self.table_model.modelReset,
                       self.table_model.dataChanged):
            signal.connect(self._schedule_summary)

        context.signed_in.connect(self._on_signed_in)
        context.signed_out.connect(self._on_signed_out)
        context.target_changed.connect(self._refresh_target)
        context.problem.connect(lambda text: self.statusBar().showMessage(text, 30000))
        self._on_signed_out()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.header = AccountHeader()
        self.header.sign_button.clicked.connect(self._sign_in_or_out)
        self.watch_button = QPushButton("&Watched folders")
        self.header.add_before_sign_button(self.watch_button)
        # Names the tests and benchmarks know the header's parts by.
        header = self.header
        self.avatar, self.user_name, self.server_name = header.avatar, header.user_name, header.server_name
        self.notice, self.sign_button = header.notice, header.sign_button

        self.picker = TargetPicker(self.context)
        self.picker.setMinimumWidth(220)

        self.drop_zone = DropZone()
        self.drop_zone.add_button.clicked.connect(self.choose_files)
        self.drop_zone.folder_button.clicked.connect(self.choose_folder)
        self.intake = FileIntake(self, self.context, say=self.say, not_signed_in=self._wait_for_sign_in,
                                 target_chosen=lambda: spawn(self.picker.start()), added=self._added)

        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setItemDelegateForColumn(Column.PROGRESS, ProgressDelegate(self.table))
        header_view = self.table.horizontalHeader()
        header_view.setHighlightSections(False)
        header_view.setStretchLastSection(True)
        header_view.setMinimumSectionSize(60)
        self.column_fitter = ColumnFitter(self.table)  # fits the columns once per batch of added rows
        header_view.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

        self.empty_hint = QLabel("Files you add appear here, with their progress.")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setStyleSheet("color: palette(placeholder-text);")

        self.action_bar = QHBoxLayout()
        self.summary = QLabel()
        self.queue_bar = QueueBar(self.table, self.table_model, self.context.settings, lambda: self.context.queue)
        self.queue_bar.clear.clicked.connect(self.clear_finished)
        self.queue_bar.clear_failed.triggered.connect(self.clear_failed_too)
        self.diagnostics_button = QPushButton("Copy diagnostics")
        self.diagnostics_button.setToolTip("Copy version, server, keychain and recent log lines (tokens masked) "
                                           "to paste into a support request")
        self.diagnostics_button.clicked.connect(self.copy_diagnostics)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.drop_zone)
        right_layout.addLayout(self.action_bar)
        right_layout.addWidget(self.table, 1)
        right_layout.addWidget(self.empty_hint)
        right_layout.addWidget(self.queue_bar)
        footer = QHBoxLayout()
        footer.addWidget(self.summary, 1)
        footer.addWidget(self.diagnostics_button)
        right_layout.addLayout(footer)

        splitter = QSplitter()
        splitter.addWidget(self.picker)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 980])
        splitter.setChildrenCollapsible(False)
        splitter.setCollapsible(0, True)  # the pickers fold away in a narrow window; the table never does
        splitter.setCollapsible(1, False)
        self.splitter = splitter

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(10)
        layout.addWidget(self.header)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

    def _bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- sign in / out -----------------------------------------------------------------------
    async def start(self, *, ask: bool = True) -> None:
        """Sign in with the stored token of the last server, or ask."""
        server = self.context.last_server
        token = await self.context.stored_token(server)
        message = ""
        if token:
            self.header.signing_in(server)
            try:
                await self.context.sign_in(server, token)
                return
            except Exception as exc:  # shown in the dialog, which offers to try again
                message = f"Could not sign in with the stored token: {exc}"
        if ask:
            self.ask_sign_in(message)

    def ask_sign_in(self, message: str = "") -> None:
        dialog = SignInDialog(self.context, self, message=message)
        dialog.open()
        self.sign_in_dialog = dialog

    @async_slot()
    async def _sign_in_or_out(self) -> None:
        if self.context.session is None:
            self.ask_sign_in()
            return
        active = [job for job in self.table_model.jobs if not job.state.is_final]
        if active and not self._confirm(f"{sentence(self.keeps_working_reasons())} Sign out and stop them?"):
            return
        await self.context.sign_out()

    def _on_signed_in(self) -> None:
        session = self.context.session
        assert session is not None and self.context.queue is not None
        saved = self.context.token_saved
        self.header.signed_in(session, saved.reason if saved is not None and not saved.stored else "")
        self.picker.setEnabled(True)
        self.table_model.set_project_names(self.context.project_names())
        self.table_model.attach(self.context.queue)
        self.queue_bar.attach(self.context.queue)
        if self.context.history_problem:
            self.statusBar().showMessage(self.context.history_problem, 20000)
            self.context.history_problem = ""
        self.context.queue.subscribe(self._on_job_event)
        spawn(self._start_picker_then_add_pending())
        self._refresh_target()

    async def _start_picker_then_add_pending(self) -> None:
        await self.picker.start()
        paths, self.pending_paths = self.pending_paths, []
        if paths:
            self.add_paths(paths)

    def open_paths(self, paths: list[Path]) -> None:
        """Files opened with the app (arguments, file association, a second launch): jobs now, or right after
        sign-in."""
        if self.context.session is None:
            self.pending_paths.extend(paths)
            return
        self.add_paths(paths)

    def receive_from_launch(self, paths: list[Path]) -> None:
        """A second launch handed its files over (single instance): show the window, add them."""
        self._bring_to_front()
        if paths:
            self.open_paths(paths)
            self.say(f"{len(paths)} {'file' if len(paths) == 1 else 'files'} opened with the app.")

    def _on_signed_out(self) -> None:
        self.intake.stop_walks()
        self.header.signed_out()
        self.picker.projects.clear()
        self.picker.models.clear()
        self.picker.setEnabled(False)
        self.table_model.attach(None)
        self.queue_bar.attach(None)
        self._refresh_target()

    def _refresh_target(self) -> None:
        session = self.context.session
        self.drop_zone.show_target(session is not None, self.context.target,
                                   session.accepted_extensions if session is not None else set())

    # -- adding files ------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
            self.drop_zone.set_highlight(True)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_zone.set_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_zone.set_highlight(False)
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def choose_files(self) -> None:
        self.intake.choose_files()

    def choose_folder(self) -> None:
        self.intake.choose_folder()

    def add_paths(self, paths: list[Path]) -> list[Job]:
        """Each file becomes a job at once; files the server would refuse become failed jobs that say why.
        Folders are walked off the Qt thread: their jobs appear a moment later (``intake.walks``)."""
        return self.intake.add_paths(paths)

    def say(self, text: str) -> None:
        """A line in the status bar, long enough to be read."""
        self.statusBar().showMessage(text, 30000 if len(text) > 60 else 8000)

    def _wait_for_sign_in(self, paths: list[Path]) -> None:
        self.pending_paths.extend(paths)
        if not (self.sign_in_dialog is not None and self.sign_in_dialog.isVisible()):
            count = len(self.pending_paths)
            self.ask_sign_in(f"Sign in, and the {count} {'item' if count == 1 else 'items'} you added "
                             "will be uploaded.")

    def _added(self, jobs: list[Job]) -> None:
        target = self.context.target
        if target is not None:
            self.table_model.set_project_names({target.project_id: target.project_name})
        self.table.scrollToBottom()

    def copy_diagnostics(self) -> str:
        report = diagnostics_report(self.context.session, self.table_model.summary())
        QGuiApplication.clipboard().setText(report)
        self.statusBar().showMessage("Diagnostics copied to the clipboard (no token included).", 6000)
        return report

    def clear_finished(self, *, failed_too: bool = False) -> None:
        """Rows of files that became versions or were cancelled leave the table and the history; failures
        stay (to be retried or read) unless ``failed_too``."""
        removed = self.table_model.remove_finished(failed_too=failed_too)
        self.context.forget_jobs([job.id for job in removed])
        self.queue_bar.batch.forget(job.id for job in removed)
        self.table.selectionModel().clearSelection()
        self.row_actions.update()

    def clear_failed_too(self) -> None:
        failed = sum(job.state.is_final and job.state is not JobState.SUCCESS for job in self.table_model.jobs)
        if failed and not self._confirm(f"Also remove {failed} failed {'row' if failed == 1 else 'rows'} and "
                                        "forget why they failed?"):
            return
        self.clear_finished(failed_too=True)

    def pause_all(self) -> None:
        self.queue_bar.pause_button.setChecked(True)

    def resume_all(self) -> None:
        self.queue_bar.pause_button.setChecked(False)

    def retry_failed(self) -> list[Job]:
        return self.queue_bar.retry_all_failed()

    def select_row(self, row: int) -> None:
        self.table.selectionModel().select(
            self.table_model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    # -- live feedback -----------------------------------------------------------------------
    def _on_job_event(self, event: JobEvent, job: Job) -> None:
        if event is JobEvent.PROGRESS:
            return
        self.row_actions.update()
        # Files refused at the drop (checked in the background, never started) show in the table, not as a
        # burst of notifications.
        if (job.state in (JobState.FAILED, JobState.INVALID_INPUT, JobState.TIMEOUT) and event is JobEvent.STATE
                and job.started_at is not None):
            self.notify("Upload failed", f"{job.file_name}: {job.message}", Icon.Warning)

    def _schedule_summary(self, *_args: object) -> None:
        if not self._summary_timer.isActive():
            self._summary_timer.start()

    def _refresh_summary(self) -> None:
        jobs = self.table_model.jobs
        self.summary.setText(self.table_model.summary())
        self.empty_hint.setVisible(not jobs)
        self.queue_bar.refresh()
        busy = any(not job.state.is_final for job in jobs)
        if self._was_busy and not busy:
            done = sum(job.state is JobState.SUCCESS for job in jobs)
            self.notify("Uploads finished", f"{done} of {len(jobs)} files became model versions.", Icon.Information)
        self._was_busy = busy

    def notify(self, title: str, message: str, icon: Icon) -> None:
        """A system notification, only while the window is in the background."""
        self.tray.notify(title, message, icon)

    def _confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Speckle Uploader", question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def close_without_asking(self) -> None:
        self.allow_close = True
        self.close()

    def keeps_working_reasons(self) -> list[str]:
        """What would stop if the app quit now, one phrase each ("2 files are still on their way"). Other views
        add theirs by extending this (the close question lists them all)."""
        active = sum(not job.state.is_final for job in self.table_model.jobs)
        reasons = [f"{files_are(active)} still on {'its' if active == 1 else 'their'} way"] if active else []
        watching = self.watched.keeps_working_reason()
        return [*reasons, watching] if watching else reasons

    def quit_app(self) -> None:
        """Quit (the tray's Quit): asks first while work goes on, without offering the background."""
        self.watched.quit()

    def closeEvent(self, event: QCloseEvent) -> None:
        reasons = [] if self.allow_close else self.keeps_working_reasons()
        if reasons:
            choice = ask_on_close(self, reasons, can_background=self.tray.available and not self.watched.quitting)
            if choice is not CloseChoice.QUIT:
                event.ignore()
                if choice is CloseChoice.BACKGROUND:
                    self.hide()
                    self.tray.notify("Still uploading", sentence(reasons) + " The tray icon brings the window back.")
                return
        self.intake.stop_walks()
        event.accept()
        self.closed.emit()
        self.watched.quitting = False
