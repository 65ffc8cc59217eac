"""Every job in a SQLite file, written as it changes state, so nothing dropped is lost across restarts.

One row per job: file, size and modification time, target, state, the server's ids, message and times.
Never the token. Each write is one transaction. A file that is corrupt, or written by a newer version of
the app, is moved aside (and the caller told why), never silently dropped.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from speckle_uploader.jobs.job import Job, JobEvent, JobState

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    server_url TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER,
    project_id TEXT NOT NULL,
    project_name TEXT,
    model_name TEXT NOT NULL,
    model_id TEXT,
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    file_id TEXT,
    tracking_id TEXT,
    version_id TEXT,
    error_code TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_server ON jobs (server_url, id);
"""
COLUMNS = ("id", "server_url", "path", "size", "mtime_ns", "project_id", "project_name", "model_name", "model_id",
           "state", "message", "file_id", "tracking_id", "version_id", "error_code", "attempt", "created_at",
           "started_at", "finished_at", "updated_at")


@dataclass
class OpenResult:
    history: JobHistory
    problem: str = ""  # set when an unusable file was moved aside


class JobHistory:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self.project_names: dict[str, str] = {}

    @classmethod
    def open(cls, path: Path) -> OpenResult:
        """Open (or create) the history; move an unusable file aside and start afresh, saying why."""
        problem = ""
        try:
            return OpenResult(cls._open(path))
        except HistoryTooNewError as exc:
            problem = str(exc)
        except sqlite3.DatabaseError as exc:
            problem = f"The upload history could not be read ({exc})"
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        path.replace(aside)
        log.warning("%s; moved to %s", problem, aside)
        return OpenResult(cls._open(path), f"{problem}. It was kept as {aside.name} and a new history started.")

    @classmethod
    def _open(cls, path: Path) -> JobHistory:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
        try:
            db.execute("PRAGMA journal_mode=WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryTooNewError(f"The upload history was written by a newer Speckle Uploader "
                                         f"(format {version}, this one reads {SCHEMA_VERSION})")
            db.execute("PRAGMA quick_check").fetchone()
            db.executescript(SCHEMA)  # idempotent; executescript commits on its own
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    def next_id(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM jobs").fetchone()[0])

    def listener(self, server_url: str) -> Callable[[JobEvent, Job], None]:
        """A job-queue listener that writes each job when it is added and whenever its state changes
        (a restored job is already saved as it is: restoring rewrites nothing)."""

        def write(event: JobEvent, job: Job) -> None:
            if event in (JobEvent.ADDED, JobEvent.STATE):
                self.save(server_url, job)

        return write

    def save(self, server_url: str, job: Job) -> None:
        try:
            mtime = job.path.stat().st_mtime_ns
        except OSError:
            mtime = None
        values = (job.id, server_url, str(job.path), job.size, mtime, job.project_id,
                  self.project_names.get(job.project_id), job.model_name, job.model_id, job.state.value,
                  job.message, job.file_id, job.tracking_id, job.version_id, job.error_code, job.attempt,
                  job.created_at, job.started_at, job.finished_at, time.time())
        placeholders = ", ".join("?" for _ in COLUMNS)
        with _Transaction(self._db):
            self._db.execute(f"INSERT OR REPLACE INTO jobs ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)

    def delete(self, job_ids: list[int]) -> None:
        with _Transaction(self._db):
            self._db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in job_ids])

    def load(self, server_url: str) -> list[Job]:
        """The jobs of one server, oldest first."""
        rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE server_url = ? ORDER BY id",
                                (server_url,)).fetchall()
        jobs = []
        for row in rows:
            record = dict(zip(COLUMNS, row, strict=True))
            if record["project_name"]:
                self.project_names[record["project_id"]] = record["project_name"]
            try:
                state = JobState(record["state"])
            except ValueError:
                state = JobState.FAILED
            jobs.append(Job(
                id=record["id"], path=Path(record["path"]), project_id=record["project_id"],
                model_name=record["model_name"], size=record["size"], state=state, message=record["message"],
                model_id=record["model_id"], file_id=record["file_id"], tracking_id=record["tracking_id"],
                version_id=record["version_id"], error_code=record["error_code"], attempt=record["attempt"],
                created_at=record["created_at"], started_at=record["started_at"],
                finished_at=record["finished_at"]))
        return jobs


class HistoryTooNewError(Exception):
    pass


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_rest: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")
