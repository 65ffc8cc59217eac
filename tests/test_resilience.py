"""Faults survived and nothing lost: every job ends in a true final state, across crashes and outages."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from speckle_uploader.jobs import Job, JobQueue, JobState
from speckle_uploader.jobs.history import SCHEMA_VERSION, JobHistory
from speckle_uploader.jobs.queue import PollPolicy, RetryPolicy
from speckle_uploader.logs import setup_logging
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.sandbox.server import Fault
from speckle_uploader.speckle.session import sign_in
from tests.conftest import ROOT, SAMPLES, big_ifc, project_id, write

FAST = RetryPolicy(attempts=5, base_delay=0.1)
TOKEN = "sandbox-demo-token"


async def run_jobs(server: ThreadedSandbox, paths: list[Path], history: JobHistory | None = None,
                   poll: PollPolicy = PollPolicy(), messages: list[str] | None = None,
                   limit_seconds: float = 60) -> list[Job]:
    session = await sign_in(server.url, TOKEN)
    queue = JobQueue(session.client, session.server, retry=FAST, poll=poll, live=session.live,
                     first_id=history.next_id() if history else 1)
    if history is not None:
        queue.subscribe(history.listener(session.server.url))
    if messages is not None:
        queue.subscribe(lambda event, job: messages.append(job.message))
    for path in paths:
        queue.add(path, project_id(server), "resilience")
    try:
        jobs = await asyncio.wait_for(queue.wait(), timeout=limit_seconds)
    finally:
        await session.aclose()
    assert all(job.state.is_final for job in jobs)  # none is left in a state that lies
    return jobs


def on_loop(server: ThreadedSandbox, coro_fn) -> None:  # type: ignore[no-untyped-def]
    asyncio.run_coroutine_threadsafe(coro_fn(), server.loop).result(timeout=10)


# -- the transfer ------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_connection_cut_mid_put(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "cut_next_uploads", 2)
    messages: list[str] = []
    jobs = await run_jobs(cloud_sandbox, [big_ifc(tmp_path / "cut.ifc", 3_000_000)], messages=messages)
    assert jobs[0].state is JobState.SUCCESS and jobs[0].attempt == 3
    assert any("The upload to 127.0.0.1" in m and "broke off" in m and "attempt 2 of 5" in m for m in messages)


@pytest.mark.asyncio
async def test_rate_limited_with_retry_after(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    body = '{"errors":[{"message":"You are being rate limited","extensions":{"code":"RATE_LIMIT_ERROR"}}]}'
    messages: list[str] = []
    session = await sign_in(cloud_sandbox.url, TOKEN)
    queue = JobQueue(session.client, session.server, retry=FAST)
    queue.subscribe(lambda event, job: messages.append(job.message))
    cloud_sandbox.call(cloud_sandbox.sandbox.faults.append,
                       Fault("/graphql", 429, body, {"Retry-After": "1", "Content-Type": "application/json"}, 2))
    started = time.monotonic()
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "limited")
    await asyncio.wait_for(queue.wait(), timeout=30)
    await session.aclose()
    assert job.state is JobState.SUCCESS
    assert time.monotonic() - started >= 2  # Retry-After honoured, twice
    assert any("slow down for 1 s" in m and "Retrying in 1 s (attempt 2 of 5)" in m for m in messages)


@pytest.mark.asyncio
async def test_expired_upload_link_gets_a_new_one(fileimport_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    fileimport_sandbox.call(setattr, fileimport_sandbox.sandbox.config, "expire_next_urls", 1)
    messages: list[str] = []
    jobs = await run_jobs(fileimport_sandbox, [sample_ifc], messages=messages)
    assert jobs[0].state is JobState.SUCCESS and jobs[0].attempt == 2
    assert any(m.startswith("The upload link expired before the upload finished (HTTP 403, AccessDenied: "
                            "Request has expired)") for m in messages)
    assert len([r for r in fileimport_sandbox.sandbox.requests if r.path.startswith("/blob/")]) == 2


@pytest.mark.asyncio
async def test_other_client_errors_fail_at_once(fileimport_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    body = '{"errors":[{"message":"Your role on this project does not allow it","extensions":{"code":"FORBIDDEN"}}]}'
    session = await sign_in(fileimport_sandbox.url, TOKEN)
    queue = JobQueue(session.client, session.server, retry=FAST)
    fileimport_sandbox.call(fileimport_sandbox.sandbox.faults.append,
                            Fault("/graphql", 200, body, {"Content-Type": "application/json"}))
    job = queue.add(sample_ifc, project_id(fileimport_sandbox), "forbidden")
    await asyncio.wait_for(queue.wait(), timeout=30)
    await session.aclose()
    assert job.state is JobState.FAILED and job.attempt == 0
    assert job.message == "Not allowed: Your role on this project does not allow it"


# -- outages while the server works ------------------------------------------------------------------

@pytest.mark.asyncio
async def test_server_down_for_ten_seconds(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "processing_seconds", 4.0)
    server = cloud_sandbox.server
    session = await sign_in(cloud_sandbox.url, TOKEN)
    queue = JobQueue(session.client, session.server, retry=FAST, live=session.live,
                     poll=PollPolicy(first=0.3, maximum=1.0, give_up_after=60))
    messages: list[str] = []
    queue.subscribe(lambda event, job: messages.append(job.message))
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "outage")
    while job.state is not JobState.PROCESSING:
        await asyncio.sleep(0.02)
    on_loop(cloud_sandbox, server.pause)
    await asyncio.sleep(10)
    assert not job.state.is_final
    on_loop(cloud_sandbox, server.resume)
    await asyncio.wait_for(queue.wait(), timeout=30)
    await session.aclose()
    assert job.state is JobState.SUCCESS
    assert any(m.startswith("Lost contact with the server; still trying (Cannot reach") for m in messages)


# -- the app killed ------------------------------------------------------------------------------------

def start_harness(server: ThreadedSandbox, file: Path, history: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "harness_upload.py"), server.url,
                             project_id(server), str(file), str(history)],
                            stdout=subprocess.PIPE, text=True, env=env)


def wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float = 20) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(prefix):
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"never saw {prefix!r}")


async def restart(server: ThreadedSandbox, history_path: Path) -> tuple[JobQueue, JobHistory, object]:
    history = JobHistory.open(history_path).history
    session = await sign_in(server.url, TOKEN)
    queue = JobQueue(session.client, session.server, retry=FAST, first_id=history.next_id(), live=session.live)
    queue.subscribe(history.listener(session.server.url))
    queue.restore(history.load(session.server.url))
    return queue, history, session


@pytest.mark.asyncio
async def test_killed_mid_upload_then_retried(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 1e6)
    history_path = tmp_path / "history.sqlite3"
    process = start_harness(cloud_sandbox, big_ifc(tmp_path / "big.ifc", 6_000_000), history_path)
    wait_for_line(process, "STATE uploading-far")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", None)

    queue, history, session = await restart(cloud_sandbox, history_path)
    [job] = queue.jobs
    assert job.state is JobState.INTERRUPTED
    assert job.message.startswith("Interrupted: the app closed while this file was uploading")
    queue.retry(job.id)
    await asyncio.wait_for(queue.wait(), timeout=30)
    await session.aclose()  # type: ignore[attr-defined]
    assert job.state is JobState.SUCCESS
    assert [j.state for j in history.load(cloud_sandbox.url)] == [JobState.SUCCESS]


@pytest.mark.asyncio
async def test_killed_while_server_processes(sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    sandbox.call(setattr, sandbox.sandbox.config, "processing_seconds", 3.0)
    history_path = tmp_path / "history.sqlite3"
    file = write(tmp_path / "model.ifc", (SAMPLES / "simple-wall.ifc").read_bytes())
    process = start_harness(sandbox, file, history_path)
    wait_for_line(process, "STATE processing" if sandbox.sandbox.flavor.value == "cloud" else "STATE queued")
    process.send_signal(signal.SIGKILL)
    process.wait(10)

    queue, _history, session = await restart(sandbox, history_path)
    [job] = queue.jobs
    assert job.state.on_server  # re-attached, not restarted
    await asyncio.wait_for(queue.wait(), timeout=30)
    await session.aclose()  # type: ignore[attr-defined]
    assert job.state is JobState.SUCCESS and job.version_id
    assert len([r for r in sandbox.sandbox.requests if r.path.startswith(("/blob/", "/api/file"))]) <= 1


# -- bad input -----------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_file_deleted_or_changed_mid_upload(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 4e6)
    deleted = big_ifc(tmp_path / "deleted.ifc", 2_000_000)
    changed = big_ifc(tmp_path / "changed.ifc", 2_000_000)
    saved = big_ifc(tmp_path / "saved.ifc", 2_000_000)
    session = await sign_in(cloud_sandbox.url, TOKEN)
    queue = JobQueue(session.client, session.server, retry=FAST, concurrency=3)
    jobs = [queue.add(path, project_id(cloud_sandbox)) for path in (deleted, changed, saved)]
    while not all(job.bytes_sent > 0 for job in jobs):
        await asyncio.sleep(0.01)
    deleted.unlink()
    with changed.open("ab") as handle:
        handle.write(b"/* edited */\n")
    stat = saved.stat()  # saved again, same size: only the modification time tells
    os.utime(saved, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    await asyncio.wait_for(queue.wait(), timeout=30)
    await session.aclose()
    for job in jobs:
        assert job.state is JobState.FAILED
        assert "changed while it was being uploaded" in job.message or "grew while" in job.message


@pytest.mark.asyncio
async def test_a_thousand_files_at_once(fileimport_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    fileimport_sandbox.call(setattr, fileimport_sandbox.sandbox.config, "queue_seconds", 0.0)
    fileimport_sandbox.call(setattr, fileimport_sandbox.sandbox.config, "processing_seconds", 0.0)
    body = (SAMPLES / "column-grid.ifc").read_bytes()
    paths = [write(tmp_path / f"Bauteil {n:04d} – Ebene ü.ifc", body) for n in range(1000)]
    started = time.monotonic()
    jobs = await run_jobs(fileimport_sandbox, paths, poll=PollPolicy(first=0.2, maximum=1.0), limit_seconds=240)
    assert len(jobs) == 1000 and {job.state for job in jobs} == {JobState.SUCCESS}
    assert len({job.id for job in jobs}) == 1000
    print(f"1000 files in {time.monotonic() - started:.1f} s")


@pytest.mark.asyncio
async def test_malformed_answer_while_following(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "processing_seconds", 2.0)
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "websockets_enabled", False)
    session = await sign_in(cloud_sandbox.url, TOKEN)
    queue = JobQueue(session.client, session.server, retry=FAST, live=session.live)
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "malformed")
    while not job.state.on_server:
        await asyncio.sleep(0.01)
    cloud_sandbox.call(cloud_sandbox.sandbox.faults.append,
                       Fault("/graphql", 200, '{"data": {"project": {"id": "x", "ingestion": {"id": 1}}}}',
                             {"Content-Type": "application/json"}, method="POST"))
    await asyncio.wait_for(queue.wait(), timeout=30)
    await session.aclose()
    assert job.state is JobState.FAILED
    assert job.message == "The server's ingestion answer has no status."


# -- history -------------------------------------------------------------------------------------------

def make_job(job_id: int, state: JobState = JobState.SUCCESS) -> Job:
    return Job(id=job_id, path=Path("/models/tower.ifc"), project_id="p1", model_name="arch", size=10, state=state,
               message="New version created", version_id="v1", model_id="m1", tracking_id="t1", file_id="f1")


def test_history_round_trip(tmp_path: Path) -> None:
    opened = JobHistory.open(tmp_path / "h.sqlite3")
    assert opened.problem == ""
    history = opened.history
    history.project_names["p1"] = "Riverside"
    history.save("https://a", make_job(1))
    history.save("https://a", make_job(2, JobState.PROCESSING))
    history.save("https://b", make_job(3))
    history.close()
    again = JobHistory.open(tmp_path / "h.sqlite3").history
    jobs = again.load("https://a")
    assert [(j.id, j.state) for j in jobs] == [(1, JobState.SUCCESS), (2, JobState.PROCESSING)]
    assert jobs[0].version_id == "v1" and again.project_names == {"p1": "Riverside"}
    assert again.next_id() == 4
    again.delete([1])
    assert [j.id for j in again.load("https://a")] == [2]


def test_corrupt_history_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    opened = JobHistory.open(path)
    assert "could not be read" in opened.problem and "kept as h.sqlite3.unreadable-" in opened.problem
    assert list(tmp_path.glob("h.sqlite3.unreadable-*"))
    assert opened.history.load("https://a") == []


def test_newer_history_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    opened = JobHistory.open(path)
    assert opened.problem.startswith("The upload history was written by a newer Speckle Uploader")
    assert list(tmp_path.glob("h.sqlite3.unreadable-*"))


# -- the token stays secret ------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_token_never_in_log_or_history(cloud_sandbox: ThreadedSandbox, sample_ifc: Path, tmp_path: Path) -> None:
    import logging

    log_file = setup_logging(tmp_path, level=logging.DEBUG)
    for name in ("httpx", "httpcore", "websockets"):
        logging.getLogger(name).setLevel(logging.DEBUG)  # the noisiest settings, on purpose
    history = JobHistory.open(tmp_path / "history.sqlite3").history
    try:
        logging.getLogger("test").info("sending Authorization: Bearer %s", TOKEN)
        jobs = await run_jobs(cloud_sandbox, [sample_ifc], history=history)
    finally:
        logging.getLogger().setLevel(logging.WARNING)
        for name in ("httpx", "httpcore", "websockets"):
            logging.getLogger(name).setLevel(logging.WARNING)
        history.close()
    assert jobs[0].state is JobState.SUCCESS
    text = log_file.read_text()
    assert "Bearer ***" in text and "X-Amz-Signature=***" in text  # requests were logged, masked
    assert TOKEN not in text
    assert TOKEN.encode() not in (tmp_path / "history.sqlite3").read_bytes()
    assert not any(r.headers.get("Authorization") for r in cloud_sandbox.sandbox.requests
                   if r.path.startswith("/blob/"))


@pytest.mark.asyncio
async def test_restoring_rewrites_only_what_changed(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    """At start-up the history is read, not written again: only the interrupted job gets a new row."""
    history = JobHistory.open(tmp_path / "h.sqlite3").history
    for number in range(1, 51):
        history.save(cloud_sandbox.url, make_job(number))
    history.save(cloud_sandbox.url, make_job(51, JobState.UPLOADING))
    saved: list[int] = []
    original = history.save
    history.save = lambda url, job: (saved.append(job.id), original(url, job))[1]  # type: ignore[method-assign]
    session = await sign_in(cloud_sandbox.url, TOKEN)
    queue = JobQueue(session.client, session.server, first_id=history.next_id())
    queue.subscribe(history.listener(cloud_sandbox.url))
    queue.restore(history.load(cloud_sandbox.url))
    await session.aclose()
    assert saved == [51]
    assert history.load(cloud_sandbox.url)[-1].state is JobState.INTERRUPTED
    assert len(queue.jobs) == 51
