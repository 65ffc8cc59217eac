"""One rule at work: from what its folder holds to versions, each export once, in the order it was saved.

- A changed file waits until it has settled, then its content hash decides: the same bytes as the model's
  last version are "unchanged, not published".
- A newer save of a file still uploading supersedes it: the older upload is cancelled first, the newer one
  follows, so there are never two versions for one save and never the older after the newer.
- At start the rule compares the folder with what it published and catches up once on what changed.
- A folder that disappears (a share gone) pauses the rule until it is back; a refused token or repeated
  failures pause it until the user resumes it, and say why.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from speckle_uploader.jobs import Job, JobEvent, JobQueue, JobState
from speckle_uploader.watch.files import (
    FileState,
    Readiness,
    can_read_now,
    is_ignored,
    matches,
    scan,
    stat_file,
)
from speckle_uploader.watch.rule_store import Published, RuleStore, model_key
from speckle_uploader.watch.rules import PublishRule
from speckle_uploader.watch.settle import Settler

log = logging.getLogger(__name__)

CREDENTIAL_CODES = {"INVALID_TOKEN", "FORBIDDEN", "UNAUTHORIZED"}
FAILURES_BEFORE_PAUSE = 3


class RuleState(enum.Enum):
    WATCHING = "watching"
    PUBLISHING = "publishing"
    PAUSED = "paused"  # by the user
    WAITING_FOR_FOLDER = "waiting for the folder"  # resumes by itself
    STOPPED = "stopped"  # paused by the app after failures: the user resumes it


@dataclass
class RuleStatus:
    rule: PublishRule
    state: RuleState = RuleState.WATCHING
    reason: str = ""
    files_seen: int = 0
    not_on_this_computer: list[str] = field(default_factory=list)
    last_job: Job | None = None  # the last publish that became a version
    last_note: str = ""  # the latest thing that happened ("ARC.ifc unchanged, not published")


@dataclass
class _InFlight:
    job: Job
    sha256: str
    state: FileState
    superseded_by: tuple[FileState, str] | None = None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


class RulePublisher:
    def __init__(self, rule: PublishRule, queue: JobQueue, store: RuleStore, *, accepted: set[str],
                 on_change: Callable[[RuleStatus], None], readiness: Readiness = can_read_now,
                 own_folders: tuple[Path, ...] = ()) -> None:
        self.rule = rule
        self.queue = queue
        self.store = store
        self.status = RuleStatus(rule, RuleState.PAUSED if rule.paused else RuleState.WATCHING)
        self.readiness = readiness
        self.own_folders = own_folders
        self._accepted = accepted
        self._on_change = on_change
        self.settler = Settler(rule.settle_seconds)
        self.known: dict[Path, FileState] = {}
        self.published = store.published(rule.key)
        self._inflight: dict[Path, _InFlight] = {}
        self._failures = 0
        self._unsubscribe = queue.subscribe(self._on_job)

    @property
    def patterns(self) -> list[str]:
        return self.rule.patterns or [f"*.{ext}" for ext in sorted(self._accepted)]

    @property
    def active(self) -> bool:
        return self.status.state in (RuleState.WATCHING, RuleState.PUBLISHING, RuleState.WAITING_FOR_FOLDER)

    def close(self) -> None:
        self._unsubscribe()

    # -- looking at the folder ---------------------------------------------------------------
    def scan_now(self) -> dict[Path, FileState] | OSError:
        """A full look at the folder (blocking: run it in a worker thread)."""
        try:
            return scan(self.rule.folder, self.patterns, subfolders=self.rule.subfolders,
                        own_folders=self.own_folders)
        except OSError as exc:
            return exc

    def apply_scan(self, found: dict[Path, FileState] | OSError, now: float) -> None:
        if isinstance(found, OSError):
            if self.status.state is not RuleState.WAITING_FOR_FOLDER:
                self._set(RuleState.WAITING_FOR_FOLDER,
                          f"The folder cannot be reached ({found.strerror or found}); watching resumes when it is "
                          "back.")
            return
        if self.status.state is RuleState.WAITING_FOR_FOLDER:
            self._set(RuleState.WATCHING, "")
        self.status.files_seen = len(found)
        self.status.not_on_this_computer = sorted(self._relative(p) for p, s in found.items() if s.placeholder)
        for path, state in found.items():
            if not state.placeholder and self._changed(path, state):
                self.settler.saw(path, state, now)
        self.known = found
        self._notify()

    def touched(self, path: Path, now: float) -> None:
        """The operating system says ``path`` changed: look at that file alone."""
        if path in self.known or path in self.settler or self._is_candidate(path):
            state = stat_file(path)
            if state is not None and not state.placeholder and self._changed(path, state):
                self.settler.saw(path, state, now)

    def _is_candidate(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.rule.folder)
        except ValueError:
            return False
        if not self.rule.subfolders and len(relative.parts) > 1:
            return False
        return not any(is_ignored(part) for part in relative.parts) and matches(path.name, self.patterns)

    def _changed(self, path: Path, state: FileState) -> bool:
        """Worth a look: new or different from what was last seen, published or found unchanged."""
        if self.known.get(path, None) is not None and self.known[path].signature == state.signature:
            return False
        record = self.published.get(self._relative(path))
        return record is None or (record.size, record.mtime_ns) != state.signature

    # -- publishing --------------------------------------------------------------------------
    async def tick(self, now: float) -> None:
        """Publish what has settled."""
        if not self.active:
            return
        for path, state in self.settler.settled(now):
            current = stat_file(path)
            if current is None:
                self.known.pop(path, None)
                continue  # deleted meanwhile
            if current.signature != state.signature or not self.readiness(path):
                self.settler.saw(path, current, now)  # still being written: look again
                continue
            try:
                sha = await asyncio.to_thread(sha256_of, path)
            except OSError:
                self.settler.saw(path, current, now)
                continue
            after = stat_file(path)
            if after is None or after.signature != current.signature:
                if after is not None:
                    self.settler.saw(path, after, now)
                continue
            self.known[path] = current
            self._publish(path, current, sha)

    def _publish(self, path: Path, state: FileState, sha: str) -> None:
        relative = self._relative(path)
        model = self.rule.model_for(path)
        key = model_key(self.rule.server_url, self.rule.project_id, model)
        running = self._inflight.get(path)
        if running is not None and not running.job.state.is_final:
            if running.sha256 == sha:
                return  # the same bytes are already on their way
            if not running.job.state.on_server:
                running.superseded_by = (state, sha)  # published once the older upload has stopped
                self.queue.cancel(running.job.id)
                self._note(f"{path.name}: a newer save replaces the upload in progress")
                return
        if sha == self.store.last_hash_for_model(key):
            previous = self.published.get(relative)
            self._record(Published(relative, key, sha, state.size, state.mtime_ns,
                                   previous.version_id if previous else None, time.time(),
                                   previous.job_id if previous else None))
            self._note(f"{path.name} unchanged, not published")
            return
        message = self.rule.message_for(path, state.mtime_ns / 1e9)
        job = self.queue.add(path, self.rule.project_id, model, check_now=False, version_message=message,
                             rule_id=self.rule.id)
        self._inflight[path] = _InFlight(job, sha, state)
        self._set(RuleState.PUBLISHING, "")

    def adopt(self, jobs: list[Job]) -> None:
        """Publishes of an earlier run the server still works on (restored from the history): their end is
        recorded as if this run had started them."""
        for job in jobs:
            record = self.published.get(self._relative(job.path))
            if (job.rule_id == self.rule.id and not job.state.is_final and record is not None
                    and record.job_id == job.id):
                self._inflight[job.path] = _InFlight(job, record.sha256, FileState(record.size, record.mtime_ns))

    def _on_job(self, event: JobEvent, job: Job) -> None:
        if event is not JobEvent.STATE or job.rule_id != self.rule.id:
            return
        path = job.path
        flight = self._inflight.get(path)
        if flight is None or flight.job is not job:
            return
        relative = self._relative(path)
        key = model_key(self.rule.server_url, self.rule.project_id, job.model_name)
        if (job.state.on_server and self.published.get(relative, None) is None) or (
                job.state.on_server and self.published[relative].job_id != job.id):
            # The server has the bytes: from now on they count as published (a restart must not send them
            # again), the version id following when it exists.
            self._record(Published(relative, key, flight.sha256, flight.state.size, flight.state.mtime_ns, None,
                                   time.time(), job.id))
        if not job.state.is_final:
            return
        del self._inflight[path]
        if job.state is JobState.SUCCESS:
            self._failures = 0
            self._record(Published(relative, key, flight.sha256, flight.state.size, flight.state.mtime_ns,
                                   job.version_id, time.time()))
            self.status.last_job = job
            self.status.last_note = f"{path.name} published"
        elif (pending := self.published.get(relative)) is not None and pending.job_id == job.id:
            self.published.pop(relative)  # not a version after all: the same bytes may be published again
            self.store.forget(self.rule.key, relative)
        elif flight.superseded_by is None and job.state is not JobState.CANCELLED and not self._saved_since(flight):
            self._failed(job)
        if flight.superseded_by is not None and self.active:
            state, sha = flight.superseded_by
            self._publish(path, state, sha)
        if self.status.state is RuleState.PUBLISHING and not self._inflight:
            self._set(RuleState.WATCHING, "")
        self._notify()

    def _saved_since(self, flight: _InFlight) -> bool:
        """The file changed after it was taken (the upload then fails as "changed while it was being uploaded"):
        a newer save is on its way through the settler, so this is no failure of the rule's."""
        current = stat_file(flight.job.path)
        return current is not None and current.signature != flight.state.signature

    def _failed(self, job: Job) -> None:
        self.status.last_note = f"{job.file_name}: {job.message}"
        if job.error_code in CREDENTIAL_CODES:
            self.stop(f"Stopped: the server refused the sign-in ({job.message}). Sign in again, then resume.")
            return
        if job.error_code in ("FILE_PROBLEM", None) and job.state is JobState.FAILED:
            self._failures += 1
            if self._failures >= FAILURES_BEFORE_PAUSE:
                self.stop(f"Stopped after {self._failures} failed publishes in a row: {job.message}")

    def _record(self, record: Published) -> None:
        self.published[record.relative_path] = record
        self.store.record(self.rule.key, record)

    # -- pausing -----------------------------------------------------------------------------
    def pause(self) -> None:
        self.rule.paused = True
        self._set(RuleState.PAUSED, "Paused")

    def resume(self) -> None:
        self.rule.paused = False
        self._failures = 0
        self._set(RuleState.WATCHING, "")
        self.known = {}  # look again at everything: what changed meanwhile is published once

    def stop(self, reason: str) -> None:
        self._set(RuleState.STOPPED, reason)

    # -- telling -----------------------------------------------------------------------------
    def _relative(self, path: Path) -> str:
        try:
            return str(PurePosixPath(*path.relative_to(self.rule.folder).parts))
        except ValueError:
            return path.name

    def _note(self, text: str) -> None:
        self.status.last_note = text
        self._notify()

    def _set(self, state: RuleState, reason: str) -> None:
        self.status.state, self.status.reason = state, reason
        self._notify()

    def _notify(self) -> None:
        try:
            self._on_change(self.status)
        except Exception:  # a broken listener must not stop publishing
            log.exception("rule listener failed")
