"""A speed limit shared by every upload of a queue: a token bucket that each chunk waits on before it is sent.

An office link is shared (Dropbox, OneDrive and Cyberduck each have such a limit): with a limit of N bytes a
second, all transfers together send at most about N bytes a second, plus one second's burst. The limit can
change while uploads run (the window's setting); ``None`` or 0 lifts it. Time and sleep are injectable, so
tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Throttle = Callable[[int], Awaitable[None]]


class Bandwidth:
    def __init__(self, bytes_per_second: float | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._rate: float | None = None
        self._tokens = 0.0
        self._stamp = clock()
        self._lock = asyncio.Lock()  # first come, first served: chunks of all uploads take turns
        self.set_limit(bytes_per_second)

    @property
    def limit(self) -> float | None:
        """Bytes per second, or None for no limit."""
        return self._rate

    def set_limit(self, bytes_per_second: float | None) -> None:
        if bytes_per_second is not None and bytes_per_second < 0:
            raise ValueError("A speed limit cannot be negative.")
        self._rate = float(bytes_per_second) if bytes_per_second else None
        self._tokens = min(self._tokens, self._rate or 0.0)
        self._stamp = self._clock()

    async def take(self, nbytes: int) -> None:
        """Wait until ``nbytes`` may be sent. A chunk larger than a second's worth is let through on credit
        (the bucket goes negative), so big chunks and small limits still average out to the limit."""
        if self._rate is None or nbytes <= 0:
            return
        async with self._lock:
            while self._rate is not None:
                now = self._clock()
                self._tokens = min(self._rate, self._tokens + (now - self._stamp) * self._rate)
                self._stamp = now
                if self._tokens > -1.0:  # within a byte: floating point never quite reaches 0
                    self._tokens -= nbytes
                    return
                # Short sleeps: a limit raised or lifted meanwhile takes effect within a fraction of a second.
                await self._sleep(max(0.001, min(-self._tokens / self._rate, 0.25)))


def parse_rate(text: str) -> float | None:
    """``500k``, ``2M``, ``1.5MB``, ``800KB/s``, ``0`` (none) -> bytes per second (1024-based, as sizes are
    shown). Raises ValueError with a sentence."""
    value = text.strip().lower().removesuffix("/s").removesuffix("b").strip()
    factor = 1
    for suffix, multiple in (("k", 1024), ("m", 1024 ** 2), ("g", 1024 ** 3)):
        if value.endswith(suffix):
            value, factor = value[:-1].strip(), multiple
            break
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"“{text}” is not a speed (examples: 500K, 2M, 0 for no limit).") from None
    if number < 0 or number != number or number == float("inf"):
        raise ValueError(f"“{text}” is not a speed (examples: 500K, 2M, 0 for no limit).")
    return number * factor or None
