"""Following a file the server has until it is a version (or says why not): what the server pushes over the
live socket, and polls, often while nothing is pushed and rarely as a safety net while pushes flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from speckle_uploader.jobs.job import Job, JobState
from speckle_uploader.jobs.policy import PollPolicy
from speckle_uploader.jobs.updates import JobUpdates
from speckle_uploader.speckle import (
    IngestionBackend,
    RemoteStatus,
    ServerUnreachableError,
    SpeckleError,
    Submission,
    Target,
)

CLIENT_TIMEOUT = "CLIENT_TIMEOUT"  # error code of a job we stopped waiting for (the server may still finish)


class Follower:
    def __init__(self, backend: IngestionBackend, poll: PollPolicy, updates: JobUpdates,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.poll = poll
        self.updates = updates
        self.clock = clock
        self._wakers: dict[int, asyncio.Queue[RemoteStatus | None]] = {}
        backend.on_live_change(self._live_changed)

    def _live_changed(self, up: bool) -> None:
        for waker in self._wakers.values():
            waker.put_nowait(None)  # followers re-plan: poll now (to catch up) or fall back to polling

    def wake(self, job_id: int) -> None:
        """Have the follower of this job look at it now (it may have ended by another way)."""
        waker = self._wakers.get(job_id)
        if waker is not None:
            waker.put_nowait(None)

    async def follow(self, job: Job, submission: Submission, target: Target) -> None:
        job.tracking_id = submission.tracking_id
        self.updates.apply(job, submission.status)
        pushed: asyncio.Queue[RemoteStatus | None] = asyncio.Queue()
        self._wakers[job.id] = pushed
        stop_watching = self.backend.watch(submission, target, pushed.put_nowait)
        try:
            await self._loop(job, submission, target, pushed)
        finally:
            stop_watching()
            self._wakers.pop(job.id, None)

    async def _loop(self, job: Job, submission: Submission, target: Target,
                    pushed: asyncio.Queue[RemoteStatus | None]) -> None:
        poll = self.poll
        delay = poll.first
        first = True
        failing_since: float | None = None
        deadline = self.clock() + poll.processing_limit
        while not job.state.is_final:
            if self.clock() >= deadline:
                self._give_up(job)
                return
            wait = delay if first or not self.backend.live_connected else max(delay, poll.live_interval)
            wait = max(0.0, min(wait, deadline - self.clock()))
            first = False
            try:
                async with asyncio.timeout(wait):  # not wait_for: it can swallow a cancellation on 3.11
                    update = await pushed.get()
            except TimeoutError:
                update, woken = None, False
            else:
                woken = update is None
            if job.state.is_final:  # ended meanwhile (a cancellation the server accepted)
                return
            if update is not None:
                self.updates.apply(job, update)
                continue
            if woken and not self.backend.live_connected:
                continue  # the socket went: fall back to frequent polling
            try:
                status = await self.backend.status(submission, target)
            except SpeckleError as exc:
                if not exc.retryable:
                    raise
                failing_since = failing_since or self.clock()
                if self.clock() - failing_since > poll.give_up_after:
                    raise ServerUnreachableError(
                        f"Lost contact with the server while it processed the file ({exc}). "
                        "The version may still appear in the project."
                    ) from exc
                self.updates.set(job, job.state, f"Lost contact with the server; still trying ({exc})")
                retry_after = getattr(exc, "retry_after", None) or 0.0
                delay = min(max(delay * poll.factor, retry_after), poll.maximum * 6)
                continue
            failing_since = None
            changed = self.updates.apply(job, status)
            delay = poll.first if changed else min(delay * poll.factor, poll.maximum)

    def _give_up(self, job: Job) -> None:
        minutes = max(1, round(self.poll.processing_limit / 60))
        self.updates.finish(
            job, JobState.TIMEOUT,
            f"The server has not finished after {minutes} minute{'s' if minutes != 1 else ''}; "
            "it may still make the version. Retry looks again before uploading anew.",
            code=CLIENT_TIMEOUT)
