"""The job queue: runs each file through its server's backend, a few at a time, and tells listeners.

Only the transfer (store + register) holds one of the ``concurrency`` slots: following the server's
processing costs nothing but a poll now and then, so a long import never holds back the next upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from speckle_uploader.jobs.job import Job, JobEvent, JobState
from speckle_uploader.speckle.backends import IngestionBackend, Submission, Target, backend_for
from speckle_uploader.speckle.client import SpeckleClient
from speckle_uploader.speckle.errors import (
    CancellationRefusedError,
    FileProblemError,
    RateLimitedError,
    ServerUnreachableError,
    SpeckleError,
)
from speckle_uploader.speckle.file_rules import check_file
from speckle_uploader.speckle.models import Model, RemoteState, RemoteStatus, ServerInfo
from speckle_uploader.speckle.subscriptions import SubscriptionClient

log = logging.getLogger(__name__)
T = TypeVar("T")

Listener = Callable[[JobEvent, Job], None]


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask the server about a file it is processing."""

    first: float = 0.5
    factor: float = 1.5
    maximum: float = 2.0  # while no live updates arrive, a change shows within this
    live_interval: float = 10.0  # with live updates, a safety poll in case an event was lost
    give_up_after: float = 300.0  # seconds without any answer before the job is failed


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures of the transfer (network, 5xx, 429, expired link, ETag mismatch)."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, error: SpeckleError) -> float:
        """Exponential backoff with jitter (1, 2, 4, 8 s ... each up to a quarter longer); Retry-After wins."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(error.retry_after, self.max_delay * 5)
        return float(min(self.base_delay * 2 ** (attempt - 1), self.max_delay) * (1 + random.random() / 4))


def model_name_for(path: Path) -> str:
    """A model name the server accepts, from a file name (no leading #/$, no commas, slashes or backslashes)."""
    name = path.stem.strip()
    for bad in (",", "\\", "/"):
        name = name.replace(bad, "-")
    return name.lstrip("#$").strip() or "upload"


class JobQueue:
    def __init__(self, client: SpeckleClient, server: ServerInfo, *, backend: IngestionBackend | None = None,
                 concurrency: int = 2, poll: PollPolicy = PollPolicy(), retry: RetryPolicy = RetryPolicy(),
                 check_type: bool = True, first_id: int = 1, live: SubscriptionClient | None = None) -> None:
        self.client = client
        self.server = server
        self.backend = backend or backend_for(server.kind, client)
        if live is not None:
            self.backend.live = live
            live.connection_listeners.append(self._live_changed)
        self._wakers: dict[int, asyncio.Queue[RemoteStatus | None]] = {}
        self.poll = poll
        self.retry_policy = retry
        self.check_type = check_type
        self._slots = asyncio.Semaphore(concurrency)
        # Few checks at once: a network drive likes a handful in flight, and 1,000 answers arriving together
        # would reach the window as one long burst.
        self._check_slots = asyncio.Semaphore(4)
        self._jobs: dict[int, Job] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._submissions: dict[int, tuple[Submission, Target]] = {}
        self._listeners: list[Listener] = []
        self._models: dict[tuple[str, str], Model] = {}
        self._model_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._next_id = first_id

    # -- observing -------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: JobEvent, job: Job) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, job)
            except Exception:  # a broken listener must not break the uploads
                log.exception("job listener failed")

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    # -- commands --------------------------------------------------------------------------------
    def add(self, path: Path, project_id: str, model_name: str | None = None, *, check_now: bool = True) -> Job:
        """Queue a file. A file the server would refuse becomes a failed job, with the reason: at once, or with
        ``check_now=False`` a moment later, the check (a stat and a read of the file's head, slow on a network
        drive) then running in a worker thread so that a window adding 1,000 files never waits on the disk."""
        job = Job(id=self._next_id, path=path, project_id=project_id, model_name=model_name or model_name_for(path))
        self._next_id += 1
        self._jobs[job.id] = job
        if not check_now:
            job.message = "Checking the file"
            self._emit(JobEvent.ADDED, job)
            self._start(job, check=True)
            return job
        job.size, refusal = self._inspect(path)
        if refusal is not None:
            self._finish(job, JobState.FAILED, str(refusal), emit=False, code=refusal.code)
            self._emit(JobEvent.ADDED, job)
            return job
        job.message = "Waiting for a free upload slot"
        self._emit(JobEvent.ADDED, job)
        self._start(job)
        return job

    def _inspect(self, path: Path) -> tuple[int, SpeckleError | None]:
        """The file's size and, if the server would refuse it, why (may block: disk I/O)."""
        size = 0
        with contextlib.suppress(OSError):  # the size is worth showing even for a file we refuse
            size = path.stat().st_size if path.is_file() else 0
        try:
            return check_file(path, self.server.kind, self.server.blob_size_limit_bytes,
                              check_type=self.check_type), None
        except SpeckleError as exc:
            return size, exc

    def restore(self, jobs: list[Job]) -> None:
        """Bring back jobs from an earlier run: finished ones as they were, ones the server was processing
        followed again to their end, ones that were still on their way marked interrupted (retry resends)."""
        for job in jobs:
            self._jobs[job.id] = job
            self._next_id = max(self._next_id, job.id + 1)
            resumable = job.state.on_server and job.tracking_id and job.model_id
            self._emit(JobEvent.RESTORED, job)
            if not job.state.is_final and not resumable:
                where = ("being registered; it may still appear in the project" if job.state is JobState.REGISTERING
                         else "uploading")
                self._finish(job, JobState.INTERRUPTED, f"Interrupted: the app closed while this file was {where}. "
                                                        "Retry to upload it again.")
            if resumable:
                self._start(job, resume=True)

    def retry(self, job_id: int) -> None:
        """Run a finished job (failed, cancelled, ...) again from the start, with a fresh upload."""
        job = self._jobs[job_id]
        if not job.state.is_final:
            return
        job.size, refusal = self._inspect(job.path)
        if refusal is not None:
            self._finish(job, JobState.FAILED, str(refusal), code=refusal.code)
            return
        job.state, job.message = JobState.WAITING, "Waiting for a free upload slot"
        job.bytes_sent, job.server_progress = 0, None
        job.file_id = job.tracking_id = job.version_id = job.error_code = None
        job.finished_at = None
        self._emit(JobEvent.STATE, job)
        self._start(job)

    def cancel(self, job_id: int) -> None:
        """Stop a job. Before the server has the file this is immediate; after, only the cloud can stop it."""
        job = self._jobs[job_id]
        if job.state.is_final:
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

    async def aclose(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

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
                self._set(job, JobState.WAITING, "Waiting for a free upload slot")
            async with self._slots:
                job.started_at = time.time()
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

    async def _guard(self, job: Job, work: Coroutine[Any, Any, None]) -> None:
        """Whatever happens, the job ends in a state that tells the truth."""
        try:
            await work
        except asyncio.CancelledError:
            if job.state.on_server:
                # Only our following stopped (the app is closing): the server carries on, and the next
                # start follows the job again from the history.
                self._set(job, job.state, "No longer followed here; the server carries on with it")
            elif not job.state.is_final:
                self._finish(job, JobState.CANCELLED, "Cancelled before the server received the file")
        except SpeckleError as exc:
            self._finish(job, JobState.FAILED, str(exc), code=exc.code)
        except Exception as exc:  # a bug must still end the job truthfully
            log.exception("job %s failed unexpectedly", job.id)
            self._finish(job, JobState.FAILED, f"Internal error: {exc!r}")
        finally:
            self._submissions.pop(job.id, None)

    async def _target(self, job: Job) -> Target:
        """The model to upload into, found by name (case-insensitive) or created, once per queue."""
        key = (job.project_id, job.model_name.strip().lower())
        async with self._model_locks.setdefault(key, asyncio.Lock()):
            model = self._models.get(key)
            if model is None:
                self._set(job, JobState.WAITING, f"Finding model “{job.model_name}”")
                model = await self.client.find_or_create_model(job.project_id, job.model_name)
                self._models[key] = model
        job.model_id = model.id
        return Target(job.project_id, model.id, model.name)

    async def _retrying(self, job: Job, step: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``step``, retrying passing failures with backoff and saying so in the job's message."""
        attempts = self.retry_policy.attempts
        for attempt in range(1, attempts + 1):
            try:
                return await step()
            except SpeckleError as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                delay = self.retry_policy.delay(attempt, exc)
                self._set(job, job.state, f"{exc} Retrying in {delay:.0f} s (attempt {attempt + 1} of {attempts})")
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _transfer(self, job: Job, target: Target) -> Submission:
        """Upload and register; each retry is a whole new upload with a fresh link (a fileId registers once)."""
        attempts = self.retry_policy.attempts
        job.attempt = 0

        async def once() -> Submission:
            job.attempt += 1
            job.bytes_sent = 0
            self._set(job, JobState.UPLOADING,
                      "Uploading" if job.attempt == 1 else f"Uploading (attempt {job.attempt} of {attempts})")
            before = _fingerprint(job.path)
            stored = await self.backend.store(job.path, job.size, target, lambda sent: self._progress(job, sent))
            if _fingerprint(job.path) != before:
                raise FileProblemError(f"{job.file_name} changed while it was being uploaded; upload it again.")
            job.file_id = stored.file_id
            self._set(job, JobState.REGISTERING, "Registering the upload with the server")
            return await self.backend.register(stored, target)

        return await self._retrying(job, once)

    def _live_changed(self, up: bool) -> None:
        for waker in self._wakers.values():
            waker.put_nowait(None)  # followers re-plan: poll now (to catch up) or fall back to polling

    async def _follow(self, job: Job, submission: Submission, target: Target) -> None:
        """Until the job is final: take what the server pushes, and poll (often while nothing is pushed,
        rarely as a safety net while live updates flow)."""
        job.tracking_id = submission.tracking_id
        self._apply(job, submission.status)
        pushed: asyncio.Queue[RemoteStatus | None] = asyncio.Queue()
        self._wakers[job.id] = pushed
        stop_watching = self.backend.watch(submission, target, pushed.put_nowait)
        try:
            await self._follow_loop(job, submission, target, pushed)
        finally:
            stop_watching()
            self._wakers.pop(job.id, None)

    async def _follow_loop(self, job: Job, submission: Submission, target: Target,
                           pushed: asyncio.Queue[RemoteStatus | None]) -> None:
        delay = self.poll.first
        first = True
        failing_since: float | None = None
        while not job.state.is_final:
            wait = delay if first or not self.backend.live_connected else max(delay, self.poll.live_interval)
            first = False
            try:
                async with asyncio.timeout(wait):  # not wait_for: it can swallow a cancellation on 3.11
                    update = await pushed.get()
            except TimeoutError:
                update = None
                woken = False
            else:
                woken = update is None
            if update is not None:
                self._apply(job, update)
                continue
            if woken and not self.backend.live_connected:
                continue  # the socket went: fall back to frequent polling
            try:
                status = await self.backend.status(submission, target)
            except SpeckleError as exc:
                if not exc.retryable:
                    raise
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > self.poll.give_up_after:
                    raise ServerUnreachableError(
                        f"Lost contact with the server while it processed the file ({exc}). "
                        "The version may still appear in the project."
                    ) from exc
                self._set(job, job.state, f"Lost contact with the server; still trying ({exc})")
                retry_after = getattr(exc, "retry_after", None) or 0.0
                delay = min(max(delay * self.poll.factor, retry_after), self.poll.maximum * 6)
                continue
            failing_since = None
            changed = self._apply(job, status)
            delay = self.poll.first if changed else min(delay * self.poll.factor, self.poll.maximum)

    async def _cancel_processing(self, job: Job) -> None:
        submission, target = self._submissions[job.id]
        if not self.backend.can_cancel_processing:
            self._set(job, job.state, str(CancellationRefusedError(
                "This server cannot stop a file once it is processing; the version will still be created.")))
            return
        self._set(job, job.state, "Cancellation requested…")
        try:
            status = await self.backend.cancel(submission, target)
        except SpeckleError as exc:
            self._set(job, job.state, f"The server did not accept the cancellation: {exc}")
            return
        self._apply(job, status)

    # -- state changes ---------------------------------------------------------------------------
    def _apply(self, job: Job, status: RemoteStatus) -> bool:
        """Take the server's status; return whether anything the user sees changed."""
        state = JobState.from_remote(status.state)
        if state is JobState.SUCCESS:
            job.version_id = status.version_id
        progress_changed = status.progress != job.server_progress
        job.server_progress = status.progress
        message = status.message or _default_message(state)
        if state.is_final:
            self._finish(job, state, message)
            return True
        if state is not job.state or message != job.message:
            self._set(job, state, message)
            return True
        if progress_changed:
            self._emit(JobEvent.PROGRESS, job)
            return True
        return False

    def _set(self, job: Job, state: JobState, message: str) -> None:
        job.state, job.message = state, message
        self._emit(JobEvent.STATE, job)

    def _progress(self, job: Job, sent: int) -> None:
        job.bytes_sent = sent
        self._emit(JobEvent.PROGRESS, job)

    def _finish(self, job: Job, state: JobState, message: str, *, emit: bool = True,
                code: str | None = None) -> None:
        job.state, job.message, job.error_code = state, message, code
        job.finished_at = time.time()
        if emit:
            self._emit(JobEvent.STATE, job)


def _default_message(state: JobState) -> str:
    return {
        JobState.QUEUED: "Queued on the server",
        JobState.PROCESSING: "Processing",
        JobState.SUCCESS: "New version created",
        JobState.CANCELLED: "Cancelled",
        JobState.FAILED: "The server could not import the file (no reason given)",
        JobState.INVALID_INPUT: "The server found the file invalid",
        JobState.TIMEOUT: "The server gave up processing this file (timeout)",
    }.get(state, state.value)


def _fingerprint(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)
