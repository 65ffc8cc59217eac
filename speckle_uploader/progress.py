"""Terminal renderings of jobs for the command line: a live block on a terminal, plain lines elsewhere."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from speckle_uploader.formatting import human_size
from speckle_uploader.jobs import Job, JobEvent, JobState
from speckle_uploader.jobs.rate import RateMeter
from speckle_uploader.text import clean_server_text, unicode_text

BAR_WIDTH = 24


def describe(job: Job, rate: float | None = None) -> str:
    """One line about a job for a terminal: its message (the server's words, often) as plain text."""
    message = clean_server_text(job.message, 300)
    if job.state is JobState.UPLOADING:
        filled = int(job.upload_fraction * BAR_WIDTH)
        bar = "█" * filled + "░" * (BAR_WIDTH - filled)
        speed = f"  {human_size(rate)}/s" if rate else ""
        return f"{bar} {job.upload_fraction * 100:5.1f}%{speed}  {message}"
    if job.state is JobState.PROCESSING and job.server_progress is not None:
        return f"processing {job.server_progress * 100:3.0f}%  {message}"
    return f"{job.state.value}: {message}" if message else job.state.value


class LiveDisplay:
    """Redraws one line per file in place (ANSI), at most ten times a second."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.meter = RateMeter()
        self._jobs: list[Job] = []
        self._drawn = 0
        self._last = 0.0

    def __call__(self, event: JobEvent, job: Job) -> None:
        if event in (JobEvent.ADDED, JobEvent.RESTORED):
            self._jobs.append(job)
        if event is JobEvent.PROGRESS:
            self.meter.add(job)
        now = time.monotonic()
        if event is JobEvent.PROGRESS and now - self._last < 0.1:
            return
        self._last = now
        self.draw()

    def say(self, text: str) -> None:
        """A line of our own above the live block (the block is drawn again below it, never over it)."""
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")  # up to the block's first line, clear to the end
            self._drawn = 0
        self.out.write(text + "\n")
        self.draw()

    def draw(self) -> None:
        names = [clean_server_text(j.file_name, 80) for j in self._jobs]
        width = max(20, max((len(name) for name in names), default=20))
        lines = [f"{name:<{width}}  {describe(j, self.meter.rate(j))}"
                 for name, j in zip(names, self._jobs, strict=True)]
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F")
        for line in lines:
            self.out.write("\x1b[2K" + line + "\n")
        self._drawn = len(lines)
        self.out.flush()


class LineLog:
    """One line per state change, and a progress line every 10 % or 10 s of an upload: for logs and pipes
    (a 300 MB upload is not 30 s of silence)."""

    def __init__(self, out: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                 every_seconds: float = 10.0) -> None:
        self.out = out or sys.stderr
        self.clock = clock
        self.every_seconds = every_seconds
        self.meter = RateMeter()
        self._seen: dict[int, tuple[JobState, str]] = {}
        self._reported: dict[int, tuple[int, float]] = {}  # job id -> (tenths of the file told, when)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def __call__(self, event: JobEvent, job: Job) -> None:
        if event is JobEvent.PROGRESS:
            self._progress(job)
            return
        key = (job.state, job.message)
        if self._seen.get(job.id) == key:
            return
        self._seen[job.id] = key
        self.out.write(f"{clean_server_text(job.file_name)}: {describe(job)}\n")
        self.out.flush()

    def _progress(self, job: Job) -> None:
        if job.state is not JobState.UPLOADING or not job.size:
            return
        self.meter.add(job)
        now = self.clock()
        tenths = int(job.upload_fraction * 10)
        told, when = self._reported.setdefault(job.id, (0, now))
        if tenths > told or now - when >= self.every_seconds:
            self._reported[job.id] = (tenths, now)
            rate = self.meter.rate(job)
            speed = f", {human_size(rate)}/s" if rate else ""
            self.out.write(f"{clean_server_text(job.file_name)}: uploading {job.upload_fraction * 100:.0f}% "
                           f"({human_size(job.bytes_sent)} of {human_size(job.size)}{speed})\n")
            self.out.flush()


def job_result(job: Job, server_url: str) -> dict[str, Any]:
    """The JSON line written for a finished job."""
    result: dict[str, Any] = {
        "file": unicode_text(str(job.path)),  # JSON escapes control characters; a non-UTF-8 name shows U+FFFD
        "status": job.state.value,
        "version_id": job.version_id,
        "error": None if job.state is JobState.SUCCESS else clean_server_text(job.message),
        "project_id": job.project_id,
        "model_id": job.model_id,
        "model": unicode_text(job.model_name),
        "size": job.size,
        "url": job.version_url(server_url),
    }
    if job.error_code:
        result["error_code"] = job.error_code
    return result


class JsonLines:
    """Writes one JSON object per file as soon as it reaches a final state."""

    def __init__(self, server_url: str, out: TextIO | None = None) -> None:
        self.server_url = server_url
        self.out = out or sys.stdout
        self._written: set[int] = set()

    def __call__(self, event: JobEvent, job: Job) -> None:
        if job.state.is_final and job.id not in self._written:
            self._written.add(job.id)
            self.out.write(json.dumps(job_result(job, self.server_url), ensure_ascii=False) + "\n")
            self.out.flush()
