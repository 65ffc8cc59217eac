"""The job queue: runs each file through its server's backend, a few at a time, and tells listeners.

Only the transfer (store + register) holds one of the ``concurrency`` slots: following the server's
processing costs nothing but a poll now and then, so a long import never holds back the next upload.
Built by ``jobs.workspace``, which gives it the backend, the policies and where job ids come from.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from speckle_uploader.jobs.bandwidth import Bandwidth
from speckle_uploader.jobs.follow import CLIENT_TIMEOUT, Follower
from speckle_uploader.jobs.job import Job, JobEvent, JobState
from speckle_uploader.jobs.model_directory import ModelDirectory, model_name_for
from speckle_uploader.jobs.policy import EngineSettings
from speckle_uploader.jobs.updates import JobUpdates, Listener
from speckle_uploader.speckle import (
    CancellationRefusedError,
    FileProblemError,
    IngestionBackend,
    InvalidTokenError,
    RemoteState,
    RemoteStatus,
    ServerInfo,
    SpeckleError,
    Submission,
    Target,
    check_file,
    extension,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

WAITING_FOR_SLOT = "Waiting for a free upload slot"
PAUSED = "Paused: waits until the queue is resumed"


class JobQueue:
    def __init__(self, backend: IngestionBackend, server: ServerInfo, accepted: set[str], *,
                 settings: EngineSettings = EngineSettings(), ids: Callable[[], int] | None = None) -> None:
        self.backend = backend
        self.server = server
        self.accepted = accepted  # the session's: a refusal by the server teaches it for the whole session
        self.settings = settings
        self.updates = JobUpdates()
        self.follower = Follower(backend, settings.poll, self.updates)
        self.models = ModelDirectory(backend.client)
        self._ids = ids or itertools.count(1).__next__
        self._slots = asyncio.Semaphore(settings.concurrency)
        # Few checks at once: a network drive likes a handful in flight, and 1,000 answers arriving together
        # would reach the window as one long burst.
        self._check_slots = asyncio.Semaphore(4)
        self._jobs: dict[int, Job] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._submissions: dict[int, tuple[Submission, Target]] = {}
        # Pause gate and speed limit (see "pause and speed" below).
        self._running = asyncio.Event()
        self._running.set()
        self.pause_listeners: list[Callable[[bool], None]] = []
        self.bandwidth = Bandwidth(settings.limit_rate)
        backend.throttle = self.bandwidth.take

    # -- observing -------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.updates.subscribe(listener)

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    # -- commands --------------------------------------------------------------------------------
    def add(self, path: Path, project_id: str, model_name: str | None = None, *, check_now: bool = True,
            version_message: str | None = None, rule_id: int | None = None) -> Job:
        """Queue a file. A file the server would refuse becomes a failed job, with the reason: at once, or with
        ``check_now=False`` a moment later, the check (a stat and a read of the file's head, slow on a network
        drive) then running in a worker thread so that a window adding 1,000 files never waits on the disk."""
        job = Job(id=self._ids(), path=path, project_id=project_id, model_name=model_name or model_name_for(path),
                  version_message=version_message, rule_id=rule_id)
        self._jobs[job.id] = job
        if not check_now:
            job.message = "Checking the file"
            self.updates.emit(JobEvent.ADDED, job)
            self._start(job, check=True)
            return job
        job.size, refusal = self._inspect(path)
        if refusal is not None:
            self.updates.finish(job, JobState.FAILED, str(refusal), emit=False, code=refusal.code)
            self.updates.emit(JobEvent.ADDED, job)
            return job
        job.message = WAITING_FOR_SLOT
        self.updates.emit(JobEvent.ADDED, job)
        self._start(job)
        return job

    def _inspect(self, path: Path) -> tuple[int, SpeckleError | None]:
        """The file's size and, if the server would refuse it, why (may block: disk I/O)."""
        size = 0
        with contextlib.suppress(OSError):  # the size is worth showing even for a file we refuse
            size = path.stat().st_size if path.is_file() else 0
        accepted = frozenset(self.accepted) if self.settings.check_type else None
        try:
            return check_file(path, accepted, self.server.blob_size_limit_bytes), None
        except SpeckleError as exc:
            return size, exc

    def restore(self, jobs: list[Job], *, is_alive: Callable[[str], bool] = lambda owner: False) -> None:
        """Bring back jobs from an earlier run: finished ones as they were, ones the server was processing
        followed again to their end, ones that were still on their way marked interrupted (retry resends).
        A job another running process (``is_alive(owner)``) still works on is shown and left to it."""
        for job in jobs:
            self._jobs[job.id] = job
            elsewhere = not job.state.is_final and is_alive(job.owner)
            if elsewhere:  # shown as it stands there; this copy only looks (not saved: a RESTORED event)
                job.message = "In progress in another Speckle Uploader on this computer"
            self.updates.emit(JobEvent.RESTORED, job)
            if job.state.is_final or elsewhere:
                continue
            if job.state.on_server and job.tracking_id and job.model_id:
                self._start(job, resume=True)
                continue
            where = ("being registered; it may still appear in the project" if job.state is JobState.REGISTERING
                     else "uploading")
            self.updates.finish(job, JobState.INTERRUPTED, f"Interrupted: the app closed while this file was "
                                                           f"{where}. Retry to upload it again.")

    def retry(self, job_id: int) -> None:
        """Run a finished job (failed, cancelled, ...) again from the start, with a fresh upload; a job we only
        stopped waiting for is first looked up again (the server may have finished it meanwhile)."""
        job = self._jobs[job_id]
        if not job.can_retry:
            return
        if job.error_code == CLIENT_TIMEOUT and job.tracking_id and job.model_id:
            job.error_code, job.finished_at = None, None
            self.updates.set(job, JobState.QUEUED, "Looking again whether the server has finished")
            self._start(job, resume=True)
            return
        job.size, refusal = self._inspect(job.path)
        if refusal is not None:
            self.updates.finish(job, JobState.FAILED, str(refusal), code=refusal.code)
            return
        job.bytes_sent, job.server_progress = 0, None
        job.file_id = job.tracking_id = job.version_id = job.error_code = None
        job.finished_at = None
        self.updates.set(job, JobState.WAITING, WAITING_FOR_SLOT)
        self._start(job)

    def cancel(self, job_id: int) -> None:
        """Stop a job. Before the server has the file this is immediate; after, only the cloud can stop it."""
        job = self._jobs[job_id]
        if not job.can_cancel:
            return
        if job.state.on_server and job_id in self._submissions:
            asyncio.get_running_loop().create_task(self._cancel_processing(job))
            return
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()

    def remove(self, job_id: int) -> bool:
        """Forget a finished job (clear it from the list); running jobs stay."""
        job = self._jobs.get(job_id)
        if job is None or not job.state.is_final or job_id in self._tasks:
            return False
        del self._jobs[job_id]
        return True

    async def wait(self) -> list[Job]:
        """Wait until every job has reached a final state."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        return self.jobs

    async def wait_for(self, job_ids: set[int]) -> None:
        """Wait until these jobs are no longer running here."""
        while tasks := [task for job_id, task in self._tasks.items() if job_id in job_ids]:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # -- pause and speed ---------------------------------------------------------------------------
    # A paused queue starts no transfer: jobs wait before taking an upload slot. Transfers already sending
    # finish (stopping one mid-way would throw its bytes away: a presigned PUT cannot resume), and files the
    # server processes are followed as before. The speed limit applies to all transfers together, at once.
    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        if self.paused:
            return
        self._running.clear()
        for job in self._jobs.values():
            if job.state is JobState.WAITING and job.message == WAITING_FOR_SLOT:
                self.updates.set(job, JobState.WAITING, PAUSED)
        for listener in list(self.pause_listeners):
            listener(True)

    def resume(self) -> None:
        if not self.paused:
            return
        self._running.set()
        for job in self._jobs.values():
            if job.state is JobState.WAITING and job.message == PAUSED:
                self.updates.set(job, JobState.WAITING, WAITING_FOR_SLOT)
        for listener in list(self.pause_listeners):
            listener(False)

    def set_limit_rate(self, bytes_per_second: float | None) -> None:
        self.bandwidth.set_limit(bytes_per_second)

    @contextlib.asynccontextmanager
    async def _upload_slot(self, job: Job) -> AsyncIterator[None]:
        """An upload slot, taken only while the queue runs (a pause while waiting for one keeps waiting)."""
        while True:
            if self.paused:
                self.updates.set(job, JobState.WAITING, PAUSED)
                await self._running.wait()
                self.updates.set(job, JobState.WAITING, WAITING_FOR_SLOT)
            await self._slots.acquire()
            if not self.paused:
                break
            self._slots.release()
        try:
            yield
        finally:
            self._slots.release()

    # -- the work --------------------------------------------------------------------------------
    def _start(self, job: Job, *, resume: bool = False, check: bool = False) -> None:
        work = self._resume(job) if resume else self._run(job, check=check)
        task = asyncio.get_running_loop().create_task(work, name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(functools.partial(self._forget_task, job.id))

    def _forget_task(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(job_id, None)

    async def _run(self, job: Job, *, check: bool = False) -> None:
        async def work() -> None:
            if check:
                async with self._check_slots:
                    job.size, refusal = await asyncio.to_thread(self._inspect, job.path)
                if refusal is not None:
                    raise refusal
                self.updates.set(job, JobState.WAITING, WAITING_FOR_SLOT)
            async with self._upload_slot(job):
                job.started_at = time.time()
                if not job.path.is_file():  # gone since it was queued: say so before creating any model
                    raise FileProblemError("No such file (it was moved or deleted?).")
                target = await self._retrying(job, lambda: self._target(job))
                submission = await self._transfer(job, target)
            self._submissions[job.id] = (submission, target)
            await self._follow(job, submission, target)

        await self._guard(job, work())

    async def _resume(self, job: Job) -> None:
        """Follow a job the server already has (from an earlier run) to its end."""
        assert job.tracking_id and job.model_id
        submission = Submission(job.file_id or job.tracking_id, job.tracking_id,
                                RemoteStatus(RemoteState(job.state.value), job.message))
        target = Target(job.project_id, job.model_id, job.model_name)
        self._submissions[job.id] = (submission, target)
        await self._guard(job, self._follow(job, submission, target))

    async def _follow(self, job: Job, submission: Submission, target: Target) -> None:
        await self.follower.follow(job, submission, target)
        if job.state is JobState.SUCCESS and job.version_message and job.version_id:
            try:
                await self.backend.client.set_version_message(job.project_id, job.version_id, job.version_message)
            except SpeckleError as exc:  # the version exists: the job succeeded, without its message
                self.updates.set(job, JobState.SUCCESS, f"New version created, but its message could not be set "
                                                        f"({exc})")

    async def _guard(self, job: Job, work: Coroutine[Any, Any, None]) -> None:
        """Whatever happens, the job ends in a state that tells the truth."""
        try:
            await work
        except asyncio.CancelledError:
            if job.state.on_server:
                # Only our following stopped (the app is closing): the server carries on, and the next
                # start follows the job again from the history.
                self.updates.set(job, job.state, "No longer followed here; the server carries on with it")
            elif not job.state.is_final:
                self.updates.finish(job, JobState.CANCELLED, "Cancelled before the server received the file")
        except SpeckleError as exc:
            if exc.code == "UNSUPPORTED_FILE_TYPE" and self.settings.check_type:
                self.accepted.discard(extension(job.path))  # learnt: the next such file is refused before sending
            self.updates.finish(job, JobState.FAILED, str(exc), code=exc.code or _code_of(exc))
        except Exception as exc:  # a bug must still end the job truthfully
            log.exception("job %s failed unexpectedly", job.id)
            self.updates.finish(job, JobState.FAILED, f"Internal error: {type(exc).__name__}")
        finally:
            self._submissions.pop(job.id, None)

    async def _target(self, job: Job) -> Target:
        """The model to upload into; the job then carries the server's name for it (lower-cased)."""
        model = await self.models.resolve(job.project_id, job.model_name, on_lookup=lambda: self.updates.set(
            job, JobState.WAITING, f"Finding model “{job.model_name}”"))
        job.model_id, job.model_name = model.id, model.name
        return Target(job.project_id, model.id, model.name)

    async def _retrying(self, job: Job, step: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``step``, retrying passing failures with backoff and saying so in the job's message."""
        policy = self.settings.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                return await step()
            except SpeckleError as exc:
                if not exc.retryable or attempt == policy.attempts:
                    raise
                delay = policy.delay(attempt, exc)
                self.updates.set(job, job.state,
                                 f"{exc} Retrying in {delay:.0f} s (attempt {attempt + 1} of {policy.attempts})")
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _transfer(self, job: Job, target: Target) -> Submission:
        """Upload and register; each retry is a whole new upload with a fresh link (a fileId registers once)."""
        attempts = self.settings.retry.attempts
        job.attempt = 0

        async def once() -> Submission:
            job.attempt += 1
            job.bytes_sent = 0
            self.updates.set(job, JobState.UPLOADING,
                             "Uploading" if job.attempt == 1 else f"Uploading (attempt {job.attempt} of {attempts})")
            before = _fingerprint(job.path)
            try:
                stored = await self.backend.store(job.path, job.size, target,
                                                  lambda sent: self.updates.progress(job, sent))
            except OSError as exc:
                raise FileProblemError(f"{job.file_name} could not be read any more "
                                       f"({exc.strerror or type(exc).__name__}).") from exc
            if _fingerprint(job.path) != before:
                raise FileProblemError(f"{job.file_name} changed while it was being uploaded; upload it again.")
            job.file_id = stored.file_id
            self.updates.set(job, JobState.REGISTERING, "Registering the upload with the server")
            return await self.backend.register(stored, target)

        return await self._retrying(job, once)

    async def _cancel_processing(self, job: Job) -> None:
        submission, target = self._submissions[job.id]
        if not self.backend.can_cancel_processing:
            self.updates.set(job, job.state, str(CancellationRefusedError(
                "This server cannot stop a file once it is processing; the version will still be created.")))
            return
        self.updates.set(job, job.state, "Cancellation requested…")
        try:
            status = await self.backend.cancel(submission, target)
        except SpeckleError as exc:
            self.updates.set(job, job.state, f"The server did not accept the cancellation: {exc}")
            return
        self.updates.apply(job, status)
        self.follower.wake(job.id)


def _code_of(error: SpeckleError) -> str | None:
    """A code for failures the server did not name, so that rules can tell a bad token from a bad file."""
    if isinstance(error, InvalidTokenError):
        return "INVALID_TOKEN"
    if isinstance(error, FileProblemError):
        return "FILE_PROBLEM"
    return None


def _fingerprint(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)
