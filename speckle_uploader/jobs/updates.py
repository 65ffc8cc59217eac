"""State changes of jobs, and the listeners told about them: the one place a job's state is written."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from speckle_uploader.jobs.job import Job, JobEvent, JobState
from speckle_uploader.speckle import RemoteStatus

log = logging.getLogger(__name__)

Listener = Callable[[JobEvent, Job], None]


class JobUpdates:
    """Changes a job's state and tells every listener (the table, the history, a terminal display)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(self, event: JobEvent, job: Job) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, job)
            except Exception:  # a broken listener must not break the uploads
                log.exception("job listener failed")

    def set(self, job: Job, state: JobState, message: str) -> None:
        job.state, job.message = state, message
        self.emit(JobEvent.STATE, job)

    def progress(self, job: Job, sent: int) -> None:
        job.bytes_sent = sent
        self.emit(JobEvent.PROGRESS, job)

    def finish(self, job: Job, state: JobState, message: str, *, emit: bool = True, code: str | None = None) -> None:
        job.state, job.message, job.error_code = state, message, code
        job.finished_at = time.time()
        if emit:
            self.emit(JobEvent.STATE, job)

    def apply(self, job: Job, status: RemoteStatus) -> bool:
        """Take the server's status; return whether anything the user sees changed."""
        state = JobState.from_remote(status.state)
        if state is JobState.SUCCESS:
            job.version_id = status.version_id
        progress_changed = status.progress != job.server_progress
        job.server_progress = status.progress
        message = status.message or default_message(state)
        if state.is_final:
            self.finish(job, state, message)
            return True
        if state is not job.state or message != job.message:
            self.set(job, state, message)
            return True
        if progress_changed:
            self.emit(JobEvent.PROGRESS, job)
            return True
        return False


def default_message(state: JobState) -> str:
    return {
        # Open-source servers go straight from 0 (queued) to done while their worker runs: "queued" may already
        # be converting, and the server cannot tell which.
        JobState.QUEUED: "Queued or being imported on the server",
        JobState.PROCESSING: "Processing",
        JobState.SUCCESS: "New version created",
        JobState.CANCELLED: "Cancelled",
        JobState.FAILED: "The server could not import the file (no reason given)",
        JobState.INVALID_INPUT: "The server found the file invalid",
        JobState.TIMEOUT: "The server gave up processing this file (timeout)",
    }.get(state, state.value)
