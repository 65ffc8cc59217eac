"""Every watched-folder rule of a signed-in server, kept at work: the operating system's notifications say
early that something changed, and a rescan of each folder makes sure nothing is missed: every 10 s on
network shares and wherever notifications cannot be had, every 5 minutes as a safety net elsewhere (a
rescan of 10,000 files costs about 0.3 s of CPU: benchmarks/watch.py).

Notifications come from watchdog: small in the bundle (pure Python beside each platform's own API:
inotify, ReadDirectoryChangesW, FSEvents), and used only as a hint to look sooner, so its known gaps
(SMB and NFS deliver no events, a polling observer that stops for good after a share error) cost nothing:
our own rescan, which survives a share that comes and goes, is the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from speckle_uploader.app_dirs import data_dir, log_dir
from speckle_uploader.jobs import Workspace
from speckle_uploader.watch.files import Readiness, can_read_now
from speckle_uploader.watch.network import is_network_folder
from speckle_uploader.watch.notifications import FolderEvents
from speckle_uploader.watch.publisher import RulePublisher, RuleState, RuleStatus
from speckle_uploader.watch.rule_store import RuleStore
from speckle_uploader.watch.rules import PublishRule

log = logging.getLogger(__name__)

RuleListener = Callable[[RuleStatus], None]


class WatchService:
    def __init__(self, workspace: Workspace, *, store: RuleStore | None = None, persist: bool = True,
                 rescan_seconds: float = 300.0, network_rescan_seconds: float = 10.0, tick_seconds: float = 0.5,
                 notifications: bool = True, readiness: Readiness = can_read_now,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.workspace = workspace
        self.store = store or RuleStore(workspace.history if persist else None)
        self.rescan_seconds = rescan_seconds
        self.network_rescan_seconds = network_rescan_seconds
        self.tick_seconds = tick_seconds
        self.readiness = readiness
        self.clock = clock
        self._publishers: dict[int, RulePublisher] = {}
        self._next_scan: dict[int, float] = {}
        self._listeners: list[RuleListener] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._events = FolderEvents(self._on_event) if notifications else None
        self._own = (data_dir(), log_dir())  # what the app writes itself is never published

    # -- observing ---------------------------------------------------------------------------
    def subscribe(self, listener: RuleListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def statuses(self) -> list[RuleStatus]:
        return [p.status for p in self._publishers.values()]

    def status(self, rule_id: int) -> RuleStatus:
        return self._publishers[rule_id].status

    @property
    def watching(self) -> bool:
        """Any rule at work (the window then keeps running in the tray when closed)."""
        return any(p.active for p in self._publishers.values())

    # -- life --------------------------------------------------------------------------------
    async def start(self, rules: list[PublishRule] | None = None) -> None:
        """Take up the stored rules of this server, or ``rules`` for this run only (the command line's: what
        they publish is still recorded, so a later run with the same rules catches up where this one ended).
        Each catches up once, then keeps watching."""
        if rules is None:
            rules = self.store.rules(self.workspace.server_url)
        for number, rule in enumerate(rules, start=1):
            if rule.id is None:
                rule.id = -number
            self._take(rule)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="watched-folders")

    async def stop(self) -> None:
        """Stop watching (jobs already queued are the queue's business)."""
        if self._events is not None:
            await asyncio.to_thread(self._events.stop)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for publisher in self._publishers.values():
            publisher.close()

    # -- rules -------------------------------------------------------------------------------
    def add(self, rule: PublishRule) -> RuleStatus:
        rule.server_url = self.workspace.server_url
        self.store.save(rule)
        status = self._take(rule)
        self._wake.set()
        return status

    def update(self, rule: PublishRule) -> RuleStatus:
        assert rule.id is not None
        self.remove(rule.id, forget=False)
        self.store.save(rule)
        return self._take(rule)

    def remove(self, rule_id: int, *, forget: bool = True) -> None:
        publisher = self._publishers.pop(rule_id, None)
        if publisher is None:
            return
        publisher.close()
        if self._events is not None:
            self._events.unwatch(rule_id)
        if forget:
            self.store.delete(publisher.rule)

    def pause(self, rule_id: int) -> None:
        publisher = self._publishers[rule_id]
        publisher.pause()
        self.store.save(publisher.rule)

    def resume(self, rule_id: int) -> None:
        publisher = self._publishers[rule_id]
        publisher.resume()
        self.store.save(publisher.rule)
        self._next_scan[rule_id] = 0.0
        self._wake.set()

    def pause_all(self) -> None:
        for rule_id in list(self._publishers):
            self.pause(rule_id)

    def resume_all(self) -> None:
        for rule_id in list(self._publishers):
            self.resume(rule_id)

    def _take(self, rule: PublishRule) -> RuleStatus:
        assert rule.id is not None
        publisher = RulePublisher(rule, self.workspace.queue, self.store,
                                  accepted=self.workspace.session.accepted_extensions,
                                  on_change=self._changed, readiness=self.readiness, own_folders=self._own)
        publisher.adopt(self.workspace.queue.jobs)
        self._publishers[rule.id] = publisher
        self._next_scan[rule.id] = 0.0  # catch up at once
        if self._events is not None:
            self._events.watch(rule.id, rule.folder, rule.subfolders)
        return publisher.status

    # -- the loop ----------------------------------------------------------------------------
    def _on_event(self, rule_id: int, path: Path) -> None:
        """From the notifications thread, through the loop: look at this file soon."""
        publisher = self._publishers.get(rule_id)
        if publisher is not None and publisher.active:
            publisher.touched(path, self.clock())
            self._wake.set()

    def _changed(self, status: RuleStatus) -> None:
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                log.exception("watched-folder listener failed")

    async def _run(self) -> None:
        while True:
            for rule_id, publisher in list(self._publishers.items()):
                if publisher.active:
                    try:
                        await self._work_on(rule_id, publisher)
                    except Exception as exc:  # a bug in one rule must not stop the others, nor go unsaid
                        log.exception("watched folder %s failed", publisher.rule.folder)
                        publisher.stop(f"Stopped by an internal error ({type(exc).__name__}); resume to try again.")
            await self._sleep()

    async def _work_on(self, rule_id: int, publisher: RulePublisher) -> None:
        if self.clock() >= self._next_scan.get(rule_id, 0.0):
            found = await asyncio.to_thread(publisher.scan_now)
            publisher.apply_scan(found, self.clock())
            network = publisher.status.state is RuleState.WAITING_FOR_FOLDER or \
                await asyncio.to_thread(is_network_folder, publisher.rule.folder)
            if self._events is not None and not network and not self._events.watching(rule_id):
                self._events.watch(rule_id, publisher.rule.folder, publisher.rule.subfolders)
            quiet = self._events is not None and self._events.watching(rule_id) and not network
            self._next_scan[rule_id] = self.clock() + (self.rescan_seconds if quiet else self.network_rescan_seconds)
        await publisher.tick(self.clock())

    async def _sleep(self) -> None:
        """Until a notification, the next settle, or the next rescan, whichever comes first."""
        now = self.clock()
        waits = [t - now for t in self._next_scan.values()]
        for publisher in self._publishers.values():
            due = publisher.settler.next_due(now)
            if due is not None and publisher.active:
                waits.append(max(due, self.tick_seconds / 5))
        delay = max(0.0, min(waits, default=self.rescan_seconds))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()
