"""One signed-in server's engine, assembled the one way the window, the command line, the demo, the self-test
and the tests all use: the session, the backend for the server's kind with its live updates, the job queue,
and the history that records (and brings back) its jobs.

    async with await Workspace.open(url, token, history=path) as workspace:
        workspace.queue.add(file, project_id)
        await workspace.queue.wait()
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from speckle_uploader.jobs.empty_models import EmptyModels
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.jobs.owners import is_alive
from speckle_uploader.jobs.policy import EngineSettings
from speckle_uploader.jobs.queue import JobQueue
from speckle_uploader.speckle import ServerKind, Session, backend_for, sign_in


class Workspace:
    def __init__(self, session: Session, *, settings: EngineSettings = EngineSettings(),
                 history: JobHistory | None = None, history_problem: str = "", owns_history: bool = False,
                 restore: bool = True) -> None:
        self.session = session
        self.settings = settings
        self.history = history
        self.history_problem = history_problem  # to be said once where the user looks
        self._owns_history = owns_history
        backend = backend_for(session.server.kind, session.client, session.live)
        self.queue = JobQueue(backend, session.server, session.accepted_extensions, settings=settings,
                              ids=history.allocate_id if history is not None else None)
        # Models created here for files whose import made no version are removed again (issue 13, point 8).
        self.empty_models = EmptyModels(self.queue.models, lambda: self.queue.jobs,
                                        cloud=session.server.kind is ServerKind.CLOUD_INGESTION)
        self.queue.subscribe(self.empty_models)
        if history is not None:
            self.queue.subscribe(history.listener(session.server.url))
            if restore:
                self.queue.restore(history.load(session.server.url), is_alive=is_alive)

    @classmethod
    async def open(cls, server_url: str, token: str, *, settings: EngineSettings = EngineSettings(),
                   history: JobHistory | Path | None = None, proxy: str | None = None,
                   restore: bool = True) -> Workspace:
        """Sign in (raises typed errors: bad token, unreachable, not Speckle ...) and assemble the engine.
        ``history``: an open history (kept open on close), a path (opened here, closed on close), or None."""
        session = await sign_in(server_url, token, proxy=proxy, live=settings.live)
        problem, owns = "", False
        if isinstance(history, Path):
            opened = JobHistory.open(history)
            history, problem, owns = opened.history, opened.problem, True
        return cls(session, settings=settings, history=history, history_problem=problem, owns_history=owns,
                   restore=restore)

    @property
    def server_url(self) -> str:
        return self.session.server.url

    async def close(self) -> None:
        """Stop following (the server carries on with what it has; the history knows to follow it again)."""
        try:
            await self.queue.aclose()
            await self.empty_models.aclose()
            await self.session.aclose()
        finally:
            if self._owns_history and self.history is not None:
                self.history.close()

    async def __aenter__(self) -> Workspace:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.close()
