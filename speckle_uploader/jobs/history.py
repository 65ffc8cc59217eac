"""Every job in a SQLite file, written as it changes state, so nothing dropped is lost across restarts.

One row per job: file, size and modification time, target, state, the server's ids, message and times.
Never the token. Each write is one transaction; WAL lets the window and a command-line run share the file.
What is unusable is said, never silently dropped: a file proven corrupt (or written by a newer version) is
moved aside; one that is merely busy is waited for; one that cannot be written is read and said to be so.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from speckle_uploader.jobs.history_schema import HistoryMigrationError, HistoryTooNewError, migrate

__all__ = ["HistoryMigrationError", "HistoryTooNewError", "JobHistory", "OpenResult"]
from speckle_uploader.jobs.job import Job, JobEvent, JobState
from speckle_uploader.logs import scrub

log = logging.getLogger(__name__)

COLUMNS = ("id", "server_url", "path", "size", "mtime_ns", "project_id", "project_name", "model_name", "model_id",
           "state", "message", "file_id", "tracking_id", "version_id", "error_code", "attempt", "created_at",
           "started_at", "finished_at", "updated_at", "owner", "version_message", "rule_id")
ID_BLOCK = 100  # ids reserved per trip to the shared counter
BUSY_SECONDS = 15.0  # how long another process may hold the file before we say it is unavailable


@dataclass
class OpenResult:
    history: JobHistory | None
    problem: str = ""  # set when the history had to be moved aside, or cannot be used or written this run


class JobHistory:
    def __init__(self, connection: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
        self._db = connection
        self.path = path
        self.read_only = read_only
        self.project_names: dict[str, str] = {}
        self._ids: list[int] = []
        self.problem_listeners: list[Callable[[str], None]] = []
        self._last_problem = ""

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, busy_seconds: float = BUSY_SECONDS) -> OpenResult:
        """Open (or create and migrate) the history. Never raises: a history that cannot be used comes back as
        None with the reason, and only a file proven corrupt or too new is moved aside."""
        try:
            return OpenResult(cls._open(path, busy_seconds))
        except HistoryTooNewError as exc:
            return cls._move_aside(path, str(exc), busy_seconds)
        except HistoryMigrationError as exc:
            return OpenResult(None, str(exc))
        except sqlite3.OperationalError as exc:
            return cls._unavailable(path, exc, busy_seconds)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed": proven unreadable
            return cls._move_aside(path, f"The upload history could not be read ({exc})", busy_seconds)
        except OSError as exc:
            return OpenResult(None, f"The upload history cannot be used ({exc.strerror or exc}); "
                                    "this run keeps no history.")

    @classmethod
    def _open(cls, path: Path, busy_seconds: float) -> JobHistory:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Explicit transactions below. Opened in a worker thread (it may wait for another process), then used
        # by one thread at a time: the connection may change hands.
        db = sqlite3.connect(path, isolation_level=None, timeout=busy_seconds, check_same_thread=False)
        try:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check}")
            migrate(db)  # first: a migration that fails leaves the file exactly as it was
            db.execute("PRAGMA journal_mode=WAL")  # the window and command-line runs read and write at once
        except BaseException:
            db.close()
            raise
        return cls(db, path)

    @classmethod
    def _move_aside(cls, path: Path, problem: str, busy_seconds: float) -> OpenResult:
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.replace(aside)
            for suffix in ("-wal", "-shm"):  # a WAL left beside it belongs to the old file
                sidecar = path.with_name(path.name + suffix)
                if sidecar.exists():
                    sidecar.replace(aside.with_name(aside.name + suffix))
        except OSError as exc:
            return OpenResult(None, f"{problem}, and it could not be moved aside ({exc.strerror}); "
                                    "this run keeps no history.")
        log.warning("%s; moved to %s", problem, aside)
        try:
            fresh = cls._open(path, busy_seconds)
        except (sqlite3.Error, OSError) as exc:
            return OpenResult(None, f"{problem}. It was kept as {aside.name}; a new history could not be "
                                    f"started ({exc}).")
        return OpenResult(fresh, f"{problem}. It was kept as {aside.name} and a new history started.")

    @classmethod
    def _unavailable(cls, path: Path, exc: sqlite3.OperationalError, busy_seconds: float) -> OpenResult:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return OpenResult(None, f"The upload history is in use by another program and did not become free "
                                    f"within {busy_seconds:.0f} s; this run keeps no history (nothing was lost).")
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            try:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
                db.execute("SELECT COUNT(*) FROM jobs").fetchone()
            except sqlite3.Error:
                return OpenResult(None, f"The upload history cannot be opened ({exc}); this run keeps no history.")
            return OpenResult(cls(db, path, read_only=True),
                              "The upload history is read-only: past uploads are shown, new ones are not recorded.")
        # Disk full and the like: the file is not at fault, so it stays where it is.
        return OpenResult(None, f"The upload history cannot be used right now ({exc}); this run keeps no history "
                                "(nothing was lost).")

    @property
    def connection(self) -> sqlite3.Connection:
        """For the stores that keep their records in the same file (watched-folder rules)."""
        return self._db

    def close(self) -> None:
        self._db.close()

    # -- ids ---------------------------------------------------------------------------------
    def allocate_id(self) -> int:
        """A job id no other process sharing this file will use."""
        if not self._ids:
            start = self._reserve_ids() if not self.read_only else None
            if start is None:  # read-only or failing: ids past what is there, good for this run
                row = self._db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM jobs").fetchone()
                start = int(row[0]) + 1_000_000
            self._ids = list(range(start + ID_BLOCK - 1, start - 1, -1))
        return self._ids.pop()

    def _reserve_ids(self) -> int | None:
        try:
            with _Transaction(self._db):
                start = int(self._db.execute("SELECT value FROM counters WHERE name = 'job_id'").fetchone()[0])
                self._db.execute("UPDATE counters SET value = ? WHERE name = 'job_id'", (start + ID_BLOCK,))
            return start
        except sqlite3.Error as exc:
            self._report(f"The upload history cannot be written ({exc})")
            return None

    # -- writing -----------------------------------------------------------------------------
    def listener(self, server_url: str) -> Callable[[JobEvent, Job], None]:
        """A job-queue listener that writes each job when it is added and whenever its state changes
        (a restored job is already saved as it is: restoring rewrites nothing)."""

        def write(event: JobEvent, job: Job) -> None:
            if event in (JobEvent.ADDED, JobEvent.STATE):
                self.save(server_url, job)

        return write

    def save(self, server_url: str, job: Job) -> None:
        if self.read_only:
            return
        try:
            mtime = job.path.stat().st_mtime_ns
        except OSError:
            mtime = None
        values = (job.id, server_url, _stored_path(job.path), job.size, mtime, job.project_id,
                  self.project_names.get(job.project_id), job.model_name, job.model_id, job.state.value,
                  scrub(job.message), job.file_id, job.tracking_id, job.version_id, job.error_code, job.attempt,
                  job.created_at, job.started_at, job.finished_at, time.time(), job.owner, job.version_message,
                  job.rule_id)
        placeholders = ", ".join("?" for _ in COLUMNS)
        try:
            with _Transaction(self._db):
                self._db.execute(f"INSERT OR REPLACE INTO jobs ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                                 values)
        except sqlite3.Error as exc:  # a full disk, a vanished folder: the user hears of it, once
            self._report(f"The upload history could not be written ({exc}); uploads go on")

    def delete(self, job_ids: list[int]) -> None:
        if self.read_only:
            return
        try:
            with _Transaction(self._db):
                self._db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in job_ids])
        except sqlite3.Error as exc:
            self._report(f"The upload history could not be written ({exc})")

    def _report(self, problem: str) -> None:
        log.warning("%s", problem)
        if problem != self._last_problem:
            self._last_problem = problem
            for listener in list(self.problem_listeners):
                listener(problem)

    # -- reading -----------------------------------------------------------------------------
    def load(self, server_url: str | None = None, *, limit: int | None = None) -> list[Job]:
        """The jobs of one server (None: every server), oldest first; ``limit``: only the most recent."""
        return [job for _server, job in self.recent(server_url, limit=limit)]

    def recent(self, server_url: str | None = None, *, limit: int | None = None) -> list[tuple[str, Job]]:
        """As ``load``, each job with the server it went to."""
        where, args = ("WHERE server_url = ?", [server_url]) if server_url is not None else ("", [])
        tail = f"ORDER BY id DESC LIMIT {int(limit)}" if limit is not None else "ORDER BY id DESC"
        rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs {where} {tail}", args).fetchall()
        jobs = []
        for row in reversed(rows):
            record = dict(zip(COLUMNS, row, strict=True))
            if record["project_name"]:
                self.project_names[record["project_id"]] = record["project_name"]
            jobs.append((str(record["server_url"]), _job_from(record)))
        return jobs


def _job_from(record: dict[str, object]) -> Job:
    try:
        state = JobState(record["state"])
    except ValueError:
        state = JobState.FAILED
    return Job(
        id=int(record["id"]), path=_loaded_path(record["path"]), project_id=str(record["project_id"]),  # type: ignore[call-overload]
        model_name=str(record["model_name"]), size=int(record["size"]), state=state,  # type: ignore[call-overload]
        message=str(record["message"]), model_id=_opt(record["model_id"]), file_id=_opt(record["file_id"]),
        tracking_id=_opt(record["tracking_id"]), version_id=_opt(record["version_id"]),
        error_code=_opt(record["error_code"]), attempt=int(record["attempt"] or 0),  # type: ignore[call-overload]
        created_at=float(record["created_at"]),  # type: ignore[arg-type]
        started_at=record["started_at"], finished_at=record["finished_at"],  # type: ignore[arg-type]
        version_message=_opt(record["version_message"]), owner=str(record["owner"] or ""),
        rule_id=int(record["rule_id"]) if record["rule_id"] is not None else None)  # type: ignore[call-overload]


def _stored_path(path: Path) -> str | bytes:
    """The path as text; as the file system's own bytes where it is not valid UTF-8 (a name from an old
    share), so that the row is still written and the same file found again."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return text


def _loaded_path(value: object) -> Path:
    return Path(os.fsdecode(value)) if isinstance(value, bytes) else Path(str(value))


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_rest: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")
