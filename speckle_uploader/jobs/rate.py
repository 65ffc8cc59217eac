"""Upload speed per job over the last few seconds: for the table's "12 MB/s · 40 s left" and the terminal."""

from __future__ import annotations

import time

from speckle_uploader.jobs.job import Job


class RateMeter:
    def __init__(self, window: float = 3.0) -> None:
        self.window = window
        self._samples: dict[int, list[tuple[float, int]]] = {}

    def add(self, job: Job) -> None:
        samples = self._samples.setdefault(job.id, [])
        now = time.monotonic()
        samples.append((now, job.bytes_sent))
        while len(samples) > 2 and now - samples[0][0] > self.window:
            samples.pop(0)

    def rate(self, job: Job) -> float | None:
        samples = self._samples.get(job.id) or []
        if len(samples) < 2 or samples[-1][0] - samples[0][0] < 0.2:
            return None
        return (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])

    def forget(self, job_id: int) -> None:
        self._samples.pop(job_id, None)
