"""The operating system's change notifications (watchdog), as hints to look at a file sooner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class FolderEvents:
    """Calls ``on_event(rule_id, path)`` on the event loop for every change under a watched folder."""

    def __init__(self, on_event: Callable[[int, Path], None]) -> None:
        self._on_event = on_event
        self._observer: Any = None
        self._watches: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def watching(self, rule_id: int) -> bool:
        return rule_id in self._watches

    def watch(self, rule_id: int, folder: Path, recursive: bool) -> bool:
        """Start notifications for a folder; False where the system gives none (then rescans alone work)."""
        if rule_id in self._watches:
            return True
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer

            if self._observer is None:
                self._loop = asyncio.get_running_loop()
                self._observer = Observer()
                self._observer.daemon = True
                self._observer.start()
            loop, on_event = self._loop, self._on_event

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event: FileSystemEvent) -> None:
                    for raw in (event.src_path, getattr(event, "dest_path", "")):
                        if raw and not event.is_directory:
                            text = raw.decode() if isinstance(raw, bytes) else raw
                            assert loop is not None
                            loop.call_soon_threadsafe(on_event, rule_id, Path(text))

            self._watches[rule_id] = self._observer.schedule(Handler(), str(folder), recursive=recursive)
        except Exception as exc:  # no inotify watches left, folder gone, a share: rescans carry on
            log.info("no change notifications for %s (%s); rescanning instead", folder, exc)
            return False
        return True

    def unwatch(self, rule_id: int) -> None:
        watch = self._watches.pop(rule_id, None)
        if watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except Exception:  # already gone with its folder
                log.debug("unschedule failed", exc_info=True)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        self._watches.clear()
