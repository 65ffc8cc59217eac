"""How patient the engine is: how often it asks about a file the server processes, how it retries a failed
transfer, and when it stops waiting. One place to change them; tests pass short ones."""

from __future__ import annotations

import random
from dataclasses import dataclass

from speckle_uploader.speckle import RateLimitedError, SpeckleError


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask the server about a file it is processing, and for how long."""

    first: float = 0.5
    factor: float = 1.5
    maximum: float = 2.0  # while no live updates arrive, a change shows within this
    live_interval: float = 10.0  # with live updates, a safety poll in case an event was lost
    give_up_after: float = 300.0  # seconds without any answer before the job is failed
    # Speckle's own server fails an import after its job timeout (about 30 minutes) and sweeps stuck ones
    # after hours; past this bound the job ends ``timeout`` here, and a retry looks again before re-uploading.
    processing_limit: float = 60 * 60.0


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


@dataclass(frozen=True)
class EngineSettings:
    """Everything that shapes one engine: the window, the command line and the tests each pick theirs."""

    concurrency: int = 2  # transfers at once; following the server's processing holds no slot
    check_type: bool = True  # refuse file types the server is not known to import (off: the server decides)
    poll: PollPolicy = PollPolicy()
    retry: RetryPolicy = RetryPolicy()
    live: bool = True  # follow statuses by subscription (polling stays as the fallback)
    limit_rate: float | None = None  # bytes per second for all uploads together (None: no limit)
