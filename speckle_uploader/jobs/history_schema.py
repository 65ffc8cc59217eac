"""The history file's format, as an ordered list of migrations: ``PRAGMA user_version`` says how many ran.

To persist something new: add a migration at the end (never edit one that shipped), then read and write the
column in ``history.py``. A file written by a newer app (a higher version than ``len(MIGRATIONS)``) is not
touched: it is moved aside with a message, as the user may go back to that version.
"""

from __future__ import annotations

import sqlite3

# Version 1: the format of the first releases (tests/data/history-v1.sqlite3 is a real one).
V1 = [
    """CREATE TABLE IF NOT EXISTS jobs (
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
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_server ON jobs (server_url, id)",
]

# Version 2: the history is shared by the window and command-line runs. Each job records the process that
# runs it (so one never takes over the other's live upload), the message set on its version, and job ids
# come from one counter in the file, handed out in blocks (two processes never write the same id).
V2 = [
    "ALTER TABLE jobs ADD COLUMN owner TEXT",
    "ALTER TABLE jobs ADD COLUMN version_message TEXT",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO counters (name, value) SELECT 'job_id', COALESCE(MAX(id), 0) + 1 FROM jobs",
]

# Version 3: watched folders. Each rule as JSON (so a new option needs no migration), what each rule
# published (the content hash per file, so an export with the same bytes is not published twice), and the
# rule a job came from.
V3 = [
    """CREATE TABLE rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        server_url TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE published (
        rule_key TEXT NOT NULL,
        relative_path TEXT NOT NULL,
        model_key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        version_id TEXT,
        job_id INTEGER,
        published_at REAL NOT NULL,
        PRIMARY KEY (rule_key, relative_path)
    )""",
    "CREATE INDEX published_by_model ON published (model_key, published_at)",
    "ALTER TABLE jobs ADD COLUMN rule_id INTEGER",
]

MIGRATIONS: list[list[str]] = [V1, V2, V3]
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryTooNewError(Exception):
    pass


class HistoryMigrationError(Exception):
    pass


def migrate(db: sqlite3.Connection) -> int:
    """Bring the file to ``SCHEMA_VERSION`` in one transaction; on any error nothing changes. Returns the
    version the file had."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise HistoryTooNewError(f"The upload history was written by a newer Speckle Uploader "
                                     f"(format {version}, this one reads up to {SCHEMA_VERSION})")
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                for statement in statements:
                    db.execute(statement)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise
                raise HistoryMigrationError(
                    f"The upload history could not be upgraded to format {number} ({exc}); it was left as it "
                    "was, and this run keeps no history (nothing was lost)") from exc
        if version != SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return version
