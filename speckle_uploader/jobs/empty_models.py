"""Models this app created for a file, removed again when the file's import ends without a version.

With "a model for each file", a file the server cannot import would leave an empty model behind. When a job
ends without a version (failed, invalid, cancelled, timed out on the server), and no other job of ours still
needs its model (running, succeeded, or only stopped waiting while the server may still finish), the model is
deleted: only one this engine created (never one it found), and only if the server says at that moment that it
holds no version and no import on its way. A retry then finds or creates the model again, like any new job.

Deleting at the end of the job rather than keeping the model for a possible retry: the server is left as the
user would expect after a failure (nothing new), whether or not they ever retry, clear or quit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from speckle_uploader.jobs.follow import CLIENT_TIMEOUT
from speckle_uploader.jobs.job import Job, JobEvent, JobState
from speckle_uploader.jobs.model_directory import ModelDirectory

log = logging.getLogger(__name__)

ENDED_WITHOUT_VERSION = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.INVALID_INPUT, JobState.TIMEOUT})


class EmptyModels:
    """A queue listener (``queue.subscribe(EmptyModels(queue.models, lambda: queue.jobs, cloud=...))``)."""

    def __init__(self, models: ModelDirectory, jobs: Callable[[], list[Job]], *, cloud: bool) -> None:
        self.models = models
        self.jobs = jobs
        self.cloud = cloud
        self._tasks: set[asyncio.Task[bool]] = set()
        self._sweeping: set[tuple[str, str]] = set()
        self._again: set[tuple[str, str]] = set()  # another job ended while its model was being looked at
        self.removed: list[tuple[str, str]] = []  # (project id, model id), in order: for the log and the tests

    def __call__(self, event: JobEvent, job: Job) -> None:
        if event is not JobEvent.STATE or job.state not in ENDED_WITHOUT_VERSION or job.model_id is None:
            return
        if job.error_code == CLIENT_TIMEOUT:  # we only stopped waiting: the server may still make the version
            return
        key = (job.project_id, job.model_id)
        if not self.models.created(*key):
            return
        if key in self._sweeping:
            self._again.add(key)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._sweeping.add(key)
        task = loop.create_task(self._sweep(*key), name=f"empty-model-{job.model_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self, project_id: str, model_id: str) -> bool:
        key = (project_id, model_id)
        try:
            while True:
                self._again.discard(key)
                removed = await self.models.remove_if_empty(project_id, model_id, lambda: self._unused(*key),
                                                            cloud=self.cloud)
                if removed or key not in self._again:
                    break
        except Exception:  # never fails a job, never reaches the loop's exception handler
            log.exception("removing empty model %s failed", model_id)
            return False
        finally:
            self._sweeping.discard(key)
            self._again.discard(key)
        if removed:
            log.info("removed model %s of project %s: created for files that made no version", model_id, project_id)
            self.removed.append((project_id, model_id))
        return removed

    def _unused(self, project_id: str, model_id: str) -> bool:
        """No job of ours is still on its way into the model, has made a version in it, or may yet do so."""
        for job in self.jobs():
            if job.project_id != project_id or job.model_id != model_id:
                continue
            if not job.state.is_final or job.state is JobState.SUCCESS or job.error_code == CLIENT_TIMEOUT:
                return False
        return True

    async def wait(self) -> None:
        """Until every removal started so far has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, limit: float = 10.0) -> None:
        """Let removals under way finish (each request is bounded in time anyway), then stop what is left."""
        try:
            async with asyncio.timeout(limit):
                await self.wait()
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
