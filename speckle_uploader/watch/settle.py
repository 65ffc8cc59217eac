"""When a file has stopped changing: size and modification time the same for the settling time, and the
file readable now. A slow writer (a 300 MB export over a minute) changes both at every step, so it is never
taken before it is complete."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from speckle_uploader.watch.files import FileState


@dataclass
class _Candidate:
    state: FileState
    stable_since: float


class Settler:
    def __init__(self, settle_seconds: float) -> None:
        self.settle_seconds = settle_seconds
        self._candidates: dict[Path, _Candidate] = {}

    def __len__(self) -> int:
        return len(self._candidates)

    def __contains__(self, path: Path) -> bool:
        return path in self._candidates

    def saw(self, path: Path, state: FileState, now: float) -> None:
        """A look at the file (a notification, a scan, a tick): any change starts its settling time again."""
        current = self._candidates.get(path)
        if current is None or current.state.signature != state.signature:
            self._candidates[path] = _Candidate(state, now)

    def forget(self, path: Path) -> None:
        self._candidates.pop(path, None)

    def settled(self, now: float) -> list[tuple[Path, FileState]]:
        """Files unchanged for the settling time (taken out: the caller publishes or looks again)."""
        ready = [(path, c.state) for path, c in self._candidates.items()
                 if now - c.stable_since >= self.settle_seconds]
        for path, _state in ready:
            del self._candidates[path]
        return ready

    def paths(self) -> list[Path]:
        return list(self._candidates)

    def next_due(self, now: float) -> float | None:
        """Seconds until the next file may settle (None: nothing waits)."""
        if not self._candidates:
            return None
        return max(0.0, min(c.stable_since + self.settle_seconds for c in self._candidates.values()) - now)
