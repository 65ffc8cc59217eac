"""The one object the widgets share: who is signed in where, the job queue, and remembered choices.

Handed to each widget explicitly (no singletons). It owns the engine objects; widgets only call it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from speckle_uploader.credentials import CredentialStore, SaveResult
from speckle_uploader.jobs import EngineSettings, JobQueue, Workspace
from speckle_uploader.jobs.destination import Destination
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.speckle import CLOUD_URL, Session, normalise_server_url
from speckle_uploader.watch import WatchService


class AppContext(QObject):
    signed_in = Signal()
    signed_out = Signal()
    target_changed = Signal()
    problem = Signal(str)  # something the user must hear of while it happens (the history cannot be written)

    def __init__(self, credentials: CredentialStore, settings: QSettings, *,
                 engine: EngineSettings = EngineSettings(), history_path: Path | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.settings = settings
        self.engine = engine
        self.workspace: Workspace | None = None
        self.watch: WatchService | None = None
        self.watch_options: dict[str, Any] = {}  # tests make the service's rescans quick
        self.token_saved: SaveResult | None = None
        self.remember_tokens = True
        self._target: Destination | None = None
        self.history_path = history_path
        self.history: JobHistory | None = None
        self._history_opened = False
        self.history_problem = ""  # said once in the window when the history is unusable or was moved aside
        self.wanted_ids: tuple[str | None, str | None] = (None, None)  # from a pasted project/model URL

    @property
    def session(self) -> Session | None:
        return self.workspace.session if self.workspace is not None else None

    @property
    def queue(self) -> JobQueue | None:
        return self.workspace.queue if self.workspace is not None else None

    # -- signing in --------------------------------------------------------------------------
    @property
    def last_server(self) -> str:
        return str(self.settings.value("server", CLOUD_URL))

    async def stored_token(self, server_url: str) -> str | None:
        # Keychain calls block (D-Bus, a prompt to unlock): off the Qt thread, so the window paints meanwhile.
        return await asyncio.to_thread(self.credentials.get, server_url)

    @property
    def proxy(self) -> str:
        return str(self.settings.value("proxy", "") or "")

    def set_proxy(self, proxy: str) -> None:
        self.settings.setValue("proxy", proxy.strip())

    async def _open_history(self) -> JobHistory | None:
        if not self._history_opened and self.history_path is not None:
            self._history_opened = True
            # Off the Qt thread: another process may hold the file for a few seconds.
            opened = await asyncio.to_thread(JobHistory.open, self.history_path)
            self.history, self.history_problem = opened.history, opened.problem
            if self.history is not None:
                self.history.problem_listeners.append(self.problem.emit)
        return self.history

    async def sign_in(self, server_url: str, token: str, *, proxy: str | None = None,
                      select: tuple[str | None, str | None] = (None, None)) -> Session:
        """Check the token and the server; keep the token (keychain, else this run only). Raises typed errors.
        The server's earlier jobs come back from the history; those it was processing are followed again.
        ``proxy`` (None: the saved one) is saved only once it worked; ``select``: the project and model ids
        of a pasted browser URL, for the pickers to choose."""
        server_url = normalise_server_url(server_url)
        history = await self._open_history()
        workspace = await Workspace.open(server_url, token, settings=self.engine, history=history,
                                         proxy=(self.proxy if proxy is None else proxy) or None)
        if proxy is not None:
            self.set_proxy(proxy)
        self.wanted_ids = select
        await self.sign_out(forget=False)
        self.workspace = workspace
        # Watched folders of this server take up their work (each catches up once on what changed).
        self.watch = WatchService(workspace, **self.watch_options)
        await self.watch.start()
        session = workspace.session
        if self.remember_tokens:
            self.token_saved = await asyncio.to_thread(self.credentials.save, server_url, token)
        self.settings.setValue("server", server_url)
        self._target = None
        self.signed_in.emit()
        return session

    async def sign_out(self, *, forget: bool = True) -> None:
        workspace = self.workspace
        if workspace is None:
            return
        self.workspace = None
        self._target = None
        if self.watch is not None:
            await self.watch.stop()
            self.watch = None
        await workspace.close()
        if forget:
            await asyncio.to_thread(self.credentials.delete, workspace.server_url)
        self.signed_out.emit()

    async def shutdown(self) -> None:
        if self.watch is not None:
            await self.watch.stop()
            self.watch = None
        if self.workspace is not None:
            await self.workspace.close()
            self.workspace = None
        if self.history is not None:
            self.history.close()
            self.history = None

    def forget_jobs(self, job_ids: list[int]) -> None:
        """Finished jobs cleared from the table leave the history too."""
        if self.queue is not None:
            for job_id in job_ids:
                self.queue.remove(job_id)
        if self.history is not None:
            self.history.delete(job_ids)

    def project_names(self) -> dict[str, str]:
        return dict(self.history.project_names) if self.history else {}

    def name_project(self, project_id: str, name: str) -> None:
        if self.history is not None:
            self.history.project_names[project_id] = name

    # -- where files go ----------------------------------------------------------------------
    @property
    def target(self) -> Destination | None:
        return self._target

    def set_target(self, target: Destination | None) -> None:
        if target == self._target:
            return
        self._target = target
        if target is not None and self.session is not None:
            prefix = self._settings_prefix()
            self.settings.setValue(f"{prefix}/project", target.project_id)
            self.settings.setValue(f"{prefix}/model", target.model_name or "")
        self.target_changed.emit()

    def remembered_target(self) -> tuple[str | None, str | None]:
        """(project id, model name or "" for a model per file) last chosen on this server."""
        if self.session is None:
            return None, None
        prefix = self._settings_prefix()
        project = self.settings.value(f"{prefix}/project")
        model = self.settings.value(f"{prefix}/model")
        return (str(project) if project else None, str(model) if model is not None else None)

    def remember_target(self, server_url: str, project_id: str, model_name: str) -> None:
        prefix = self._settings_prefix(normalise_server_url(server_url))
        self.settings.setValue(f"{prefix}/project", project_id)
        self.settings.setValue(f"{prefix}/model", model_name)

    def _settings_prefix(self, server_url: str | None = None) -> str:
        if server_url is None:
            assert self.session is not None
            server_url = self.session.server.url
        return "targets/" + server_url.replace("/", "_").replace(":", "_")
