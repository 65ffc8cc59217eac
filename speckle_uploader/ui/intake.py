"""How files arrive in the window: dropped, chosen (files or a whole folder), opened with the app or handed
over by a second launch. Folders are walked in a worker thread (a big tree must not freeze the window), stop
at the limit, skip links that lead outside them, and a line says what was left out. Nothing is dropped
without a word: files that arrive before sign-in wait for it; a cancelled "where to?" says they were not
added."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from speckle_uploader.jobs import Job
from speckle_uploader.jobs.destination import Destination
from speckle_uploader.jobs.dropped import Dropped, expand_dropped
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.target_dialog import ask_target
from speckle_uploader.ui.tasks import spawn

LAST_FOLDER = "last_folder"


def files_word(count: int) -> str:
    return f"{count:,} {'file' if count == 1 else 'files'}"


class FileIntake(QObject):
    def __init__(self, parent: QWidget, context: AppContext, *, say: Callable[[str], None],
                 not_signed_in: Callable[[list[Path]], None], target_chosen: Callable[[], object],
                 added: Callable[[list[Job]], None]) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.context = context
        self.say = say  # one line in the window's status bar
        self.not_signed_in = not_signed_in  # keep these for after sign-in, and ask for it
        self.target_chosen = target_chosen  # the "where to?" dialog chose: show the same in the window
        self.added = added
        self.target_dialog: QDialog | None = None
        self._asking: list[Path] = []  # arrived while the "where to?" dialog is open
        self._stop = threading.Event()
        self.walks: set[asyncio.Task[list[Job]]] = set()

    def add_paths(self, paths: list[Path]) -> list[Job]:
        """Each file becomes a job at once (files the server would refuse become failed jobs that say why).
        Folders are walked in the background: their jobs appear a moment later (see ``walks``)."""
        if not paths:
            return []
        if self.context.session is None or self.context.queue is None:
            self.not_signed_in(paths)
            return []
        target = self.context.target
        if target is None:
            self._ask_target(paths)
            return []
        if any(path.is_dir() for path in paths):
            task = spawn(self._walk_then_add(paths, target))
            self.walks.add(task)
            task.add_done_callback(self.walks.discard)
            return []
        return self._queue(expand_dropped(paths, self.context.session.accepted_extensions), target)

    def stop_walks(self) -> None:
        """Sign-out or quit: a walk in progress ends and adds nothing."""
        self._stop.set()
        self._stop = threading.Event()

    async def _walk_then_add(self, paths: list[Path], target: Destination) -> list[Job]:
        session, stop = self.context.session, self._stop
        assert session is not None
        self.say("Looking through the folder for model files…")
        dropped = await asyncio.to_thread(expand_dropped, paths, frozenset(session.accepted_extensions), stop=stop)
        if stop.is_set() or self.context.session is not session:
            return []
        return self._queue(dropped, target)

    def _queue(self, dropped: Dropped, target: Destination) -> list[Job]:
        queue = self.context.queue
        assert queue is not None
        note = dropped.note()
        if not dropped.files:
            self.say(" ".join(("Nothing to upload in what was added (no model files found).", note)).strip())
            return []
        self.context.name_project(target.project_id, target.project_name)
        jobs = [queue.add(path, target.project_id, target.model_name, check_now=False) for path in dropped.files]
        self.say(note or f"Added {files_word(len(jobs))}.")
        self.added(jobs)
        return jobs

    def _ask_target(self, paths: list[Path]) -> None:
        self._asking.extend(paths)
        if self.target_dialog is not None:
            return
        folders = any(path.is_dir() for path in self._asking)
        what = "the folder" if folders and len(self._asking) == 1 else \
            "these" if folders else files_word(len(self._asking))

        def done(accepted: bool) -> None:
            self.target_dialog = None
            waiting, self._asking = self._asking, []
            if accepted:
                self.target_chosen()
                self.add_paths(waiting)
            else:
                self.say(f"{files_word(len(waiting)) if not folders else 'What you added'} "
                         f"{'was' if len(waiting) == 1 else 'were'} not added: no project was chosen. "
                         "Choose a project and a model on the left, then add them again.")

        self.target_dialog = ask_target(self.parent_widget, self.context, what, done)

    # -- choosing ------------------------------------------------------------------------------
    def last_folder(self) -> str:
        return str(self.context.settings.value(LAST_FOLDER, "") or "")

    def remember_folder(self, folder: Path) -> None:
        self.context.settings.setValue(LAST_FOLDER, str(folder))

    def choose_files(self) -> None:
        kinds = ""
        if self.context.session is not None:
            kinds = " ".join("*." + e for e in sorted(self.context.session.accepted_extensions))
        names, _ = QFileDialog.getOpenFileNames(self.parent_widget, "Add files to upload", self.last_folder(),
                                                f"Models ({kinds});;All files (*)" if kinds else "All files (*)")
        if names:
            self.remember_folder(Path(names[0]).parent)
            self.add_paths([Path(name) for name in names])

    def choose_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self.parent_widget, "Add a folder: every model file in it",
                                                self.last_folder())
        if name:
            self.remember_folder(Path(name))
            self.add_paths([Path(name)])
