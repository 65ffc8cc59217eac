"""The history: a real file from the first release migrates; busy, read-only, full and corrupt files are told
apart; two processes share it without colliding ids or taking over each other's jobs."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from speckle_uploader.jobs import Job, JobState
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.jobs.history_schema import MIGRATIONS, SCHEMA_VERSION
from speckle_uploader.jobs.owners import is_alive
from tests.conftest import ROOT

V1_FILE = ROOT / "tests" / "data" / "history-v1.sqlite3"  # written by the first release's code


def make_job(job_id: int, state: JobState = JobState.SUCCESS) -> Job:
    return Job(id=job_id, path=Path("/models/tower.ifc"), project_id="p1", model_name="arch", size=10, state=state,
               message="New version created", version_id="v1", model_id="m1", tracking_id="t1", file_id="f1")


def opened(path: Path, **options: float) -> JobHistory:
    result = JobHistory.open(path, **options)
    assert result.history is not None, result.problem
    return result.history


def test_round_trip(tmp_path: Path) -> None:
    result = JobHistory.open(tmp_path / "h.sqlite3")
    assert result.problem == "" and result.history is not None
    history = result.history
    history.project_names["p1"] = "Riverside"
    job = make_job(history.allocate_id())
    job.version_message = "Exported for the Monday coordination"
    history.save("https://a", job)
    history.save("https://a", make_job(history.allocate_id(), JobState.PROCESSING))
    history.save("https://b", make_job(history.allocate_id()))
    history.close()
    again = opened(tmp_path / "h.sqlite3")
    jobs = again.load("https://a")
    assert [j.state for j in jobs] == [JobState.SUCCESS, JobState.PROCESSING]
    assert jobs[0].version_id == "v1" and again.project_names == {"p1": "Riverside"}
    assert jobs[0].version_message == "Exported for the Monday coordination" and jobs[0].owner == job.owner
    assert len(again.load()) == 3 and [j.id for j in again.load(limit=1)] == [jobs[1].id + 1]
    again.delete([jobs[0].id])
    assert [j.id for j in again.load("https://a")] == [jobs[1].id]


def test_a_first_release_file_migrates_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(V1_FILE, path)
    before = sqlite3.connect(path).execute("SELECT id, path, state, message FROM jobs ORDER BY id").fetchall()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1

    history = opened(path)
    jobs = history.load()
    assert [(j.id, str(j.path), j.state.value, j.message) for j in jobs] == before
    assert history.project_names["p1"] == "Riverside Library"
    assert {j.path.name for j in history.load("http://127.0.0.1:3000")} >= {"ARC.ifc", "Ünïcødé plan.ifc"}
    new_id = history.allocate_id()
    assert new_id > max(j.id for j in jobs)  # the counter starts past the old rows
    history.save("http://127.0.0.1:3000", make_job(new_id))
    history.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert len(opened(path).load()) == len(before) + 1


def test_a_failed_migration_leaves_the_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(V1_FILE, path)
    original = path.read_bytes()
    broken = [*MIGRATIONS, ["ALTER TABLE jobs ADD COLUMN rule_id INTEGER", "THIS IS NOT SQL"]]
    monkeypatch.setattr("speckle_uploader.jobs.history_schema.MIGRATIONS", broken)
    monkeypatch.setattr("speckle_uploader.jobs.history_schema.SCHEMA_VERSION", len(broken))
    result = JobHistory.open(path)
    assert result.history is None
    assert f"could not be upgraded to format {len(broken)}" in result.problem and "nothing was lost" in result.problem
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1  # not half-migrated
    assert "owner" not in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    db.close()
    assert not list(tmp_path.glob("*.unreadable-*"))
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 5
    assert path.read_bytes() == original


def test_corrupt_history_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    result = JobHistory.open(path)
    assert "could not be read" in result.problem and "kept as h.sqlite3.unreadable-" in result.problem
    assert list(tmp_path.glob("h.sqlite3.unreadable-*"))
    assert result.history is not None and result.history.load("https://a") == []


def test_newer_history_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    result = JobHistory.open(path)
    assert result.problem.startswith("The upload history was written by a newer Speckle Uploader")
    assert list(tmp_path.glob("h.sqlite3.unreadable-*"))


def test_a_history_another_process_holds_is_waited_for_not_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    opened(path).close()
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locker.execute("PRAGMA journal_mode=DELETE")  # a writer in the old journal mode blocks readers too
    locker.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def release_soon() -> None:
        released.wait(0.3)
        locker.execute("COMMIT")

    thread = threading.Thread(target=release_soon)
    thread.start()
    result = JobHistory.open(path, busy_seconds=30)  # waits for the lock, however long the release takes
    thread.join()
    assert result.history is not None and result.problem == ""
    result.history.close()

    again = sqlite3.connect(path, isolation_level=None)
    again.execute("PRAGMA journal_mode=DELETE")
    again.execute("BEGIN EXCLUSIVE")
    busy = JobHistory.open(path, busy_seconds=0.2)
    again.execute("COMMIT")
    assert busy.history is None and "in use by another program" in busy.problem
    assert not list(tmp_path.glob("*.unreadable-*"))


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can write anything")
def test_a_read_only_history_is_read_and_said_to_be(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history = opened(path)
    history.save("https://a", make_job(history.allocate_id()))
    history.close()
    path.chmod(stat.S_IRUSR)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        result = JobHistory.open(path)
    finally:
        tmp_path.chmod(stat.S_IRWXU)
    assert result.history is not None and result.history.read_only
    assert "read-only" in result.problem and len(result.history.load()) == 1


def test_write_failures_are_told_once(tmp_path: Path) -> None:
    history = opened(tmp_path / "h.sqlite3")
    problems: list[str] = []
    history.problem_listeners.append(problems.append)
    history._db.execute("DROP TABLE jobs")  # stands for a full disk: every write now fails
    for _ in range(3):
        history.save("https://a", make_job(history.allocate_id()))
    assert len(problems) == 1 and "could not be written" in problems[0]


def test_two_processes_never_share_an_id(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    opened(path).close()
    script = ("import sys; from pathlib import Path; from speckle_uploader.jobs.history import JobHistory; "
              "h = JobHistory.open(Path(sys.argv[1])).history; print(' '.join(str(h.allocate_id()) "
              "for _ in range(250)))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(3)]
    ids = [int(i) for run in runs for i in run.communicate(timeout=60)[0].split()]
    assert len(ids) == 750 and len(set(ids)) == 750


def test_a_live_process_keeps_its_jobs() -> None:
    import socket

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert is_alive(f"{socket.gethostname()}:{sleeper.pid}")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not is_alive(f"{socket.gethostname()}:{sleeper.pid}")
    assert not is_alive(f"another-host:{os.getpid()}") and not is_alive("") and not is_alive("x:y")


@pytest.mark.skipif(sys.platform == "win32", reason="Windows file names are UTF-16, never undecodable bytes")
def test_a_file_name_that_is_not_utf8_keeps_its_row(tmp_path: Path) -> None:
    name = os.fsdecode(b"plan-\xe9t\xe9.ifc")  # Latin-1 bytes from an old share: not UTF-8
    history = opened(tmp_path / "h.sqlite3")
    job = make_job(history.allocate_id())
    job.path = tmp_path / name
    history.save("https://a", job)
    [again] = history.load("https://a")
    assert again.path == job.path and os.fsencode(again.path).endswith(b"plan-\xe9t\xe9.ifc")
