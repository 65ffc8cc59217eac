"""The batch line: what the files added together have come to (files and bytes done of total, upload time left).

A batch starts when files are added to an idle queue and grows with everything added (or retried) until all
of it has finished; the next file added then starts a new one. Qt-free: the window and the command line can
both read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from speckle_uploader.formatting import format_duration, human_size
from speckle_uploader.jobs.job import Job, JobEvent, JobState

SENT = (JobState.REGISTERING, JobState.QUEUED, JobState.PROCESSING, JobState.SUCCESS)


@dataclass(frozen=True)
class BatchProgress:
    files_total: int
    files_done: int  # finished, whatever the outcome
    files_failed: int
    bytes_total: int
    bytes_sent: int
    seconds_left: float | None  # of uploading, at the present speed (processing time is the server's)

    def line(self) -> str:
        if not self.files_total:
            return ""
        parts = [f"{self.files_done:,} of {self.files_total:,} files finished"]
        if self.files_failed:
            parts[0] += f" ({self.files_failed:,} failed)"
        if self.bytes_total:
            parts.append(f"{human_size(self.bytes_sent)} of {human_size(self.bytes_total)} sent")
        if self.seconds_left is not None and self.bytes_sent < self.bytes_total:
            parts.append(f"about {format_duration(self.seconds_left)} of uploading left")
        return " · ".join(parts)


class Batch:
    def __init__(self) -> None:
        self.ids: set[int] = set()

    def on_event(self, event: JobEvent, job: Job, jobs: Callable[[], Iterable[Job]]) -> None:
        """Feed each queue event; ``jobs`` gives the jobs the batch's ids refer to (looked at only on a start)."""
        started = event is JobEvent.ADDED or (event is JobEvent.STATE and job.state is JobState.WAITING
                                               and job.id not in self.ids)
        if not started:
            return
        if self.ids and all(j.state.is_final for j in jobs() if j.id in self.ids):
            self.ids.clear()  # the last batch is over: this file starts the next one
        self.ids.add(job.id)

    def forget(self, job_ids: Iterable[int]) -> None:
        self.ids.difference_update(job_ids)

    def progress(self, jobs: Iterable[Job], rate: Callable[[Job], float | None]) -> BatchProgress:
        total = done = failed = bytes_total = bytes_sent = 0
        speed = 0.0
        for job in jobs:
            if job.id not in self.ids:
                continue
            total += 1
            if job.state.is_final:
                done += 1
                if job.state is not JobState.SUCCESS:
                    failed += 1
                    continue  # its bytes no longer count either way
            bytes_total += job.size
            if job.state in SENT:
                bytes_sent += job.size
            elif job.state is JobState.UPLOADING:
                bytes_sent += job.bytes_sent
                speed += rate(job) or 0.0
        left = (bytes_total - bytes_sent) / speed if speed > 0 else None
        return BatchProgress(total, done, failed, bytes_total, bytes_sent, left)
