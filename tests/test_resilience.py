"""Faults survived and nothing lost: every job ends in a true final state, across crashes and outages."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from speckle_uploader.jobs import Job, JobState, Workspace
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.jobs.policy import PollPolicy, RetryPolicy
from speckle_uploader.logs import setup_logging
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.sandbox.server import Fault
from tests.conftest import ROOT, SAMPLES, big_ifc, open_engine, project_id, wait_until, write
from tests.test_history import make_job

FAST = RetryPolicy(attempts=5, base_delay=0.1)
TOKEN = "sandbox-demo-token"


async def run_jobs(server: ThreadedSandbox, paths: list[Path], history: JobHistory | None = None,
                   poll: PollPolicy = PollPolicy(), messages: list[str] | None = None,
                   limit_seconds: float = 60) -> list[Job]:
    workspace = await open_engine(server, retry=FAST, poll=poll, history=history, live=True)
    queue = workspace.queue
    if messages is not None:
        queue.subscribe(lambda event, job: messages.append(job.message))
    for path in paths:
        queue.add(path, project_id(server), "resilience")
    try:
        jobs = await asyncio.wait_for(queue.wait(), timeout=limit_seconds)
    finally:
        await workspace.close()
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
    workspace = await open_engine(cloud_sandbox, retry=FAST)
    queue = workspace.queue
    queue.subscribe(lambda event, job: messages.append(job.message))
    cloud_sandbox.call(cloud_sandbox.sandbox.faults.append,
                       Fault("/graphql", 429, body, {"Retry-After": "1", "Content-Type": "application/json"}, 2))
    started = time.monotonic()
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "limited")
    await asyncio.wait_for(queue.wait(), timeout=30)
    await workspace.close()
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
    workspace = await open_engine(fileimport_sandbox, retry=FAST)
    queue = workspace.queue
    fileimport_sandbox.call(fileimport_sandbox.sandbox.faults.append,
                            Fault("/graphql", 200, body, {"Content-Type": "application/json"}))
    job = queue.add(sample_ifc, project_id(fileimport_sandbox), "forbidden")
    await asyncio.wait_for(queue.wait(), timeout=30)
    await workspace.close()
    assert job.state is JobState.FAILED and job.attempt == 0
    assert job.message == "Not allowed: Your role on this project does not allow it"


# -- outages while the server works ------------------------------------------------------------------

@pytest.mark.asyncio
async def test_server_down_while_processing(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    """The server goes away while it processes the file: the job keeps trying (and says so) until it is back.
    The outage lasts until the app has noticed it several times, however fast or slow the machine is."""
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "processing_seconds", 4.0)
    server = cloud_sandbox.server
    workspace = await open_engine(cloud_sandbox, retry=FAST, live=True,
                                  poll=PollPolicy(first=0.05, maximum=0.1, give_up_after=60))
    queue = workspace.queue
    messages: list[str] = []
    queue.subscribe(lambda event, job: messages.append(job.message))
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "outage")
    await wait_until(lambda: job.state is JobState.PROCESSING, what="processing")
    on_loop(cloud_sandbox, server.pause)
    lost = "Lost contact with the server; still trying (Cannot reach"
    await wait_until(lambda: sum(m.startswith(lost) for m in messages) >= 3, what="three failed polls")
    assert not job.state.is_final
    on_loop(cloud_sandbox, server.resume)
    await asyncio.wait_for(queue.wait(), timeout=30)
    await workspace.close()
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


async def restart(server: ThreadedSandbox, history_path: Path) -> Workspace:
    """The app starting again on the same history."""
    return await open_engine(server, retry=FAST, history=history_path, live=True)


@pytest.mark.asyncio
async def test_killed_mid_upload_then_retried(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 1e6)
    history_path = tmp_path / "history.sqlite3"
    process = start_harness(cloud_sandbox, big_ifc(tmp_path / "big.ifc", 6_000_000), history_path)
    wait_for_line(process, "STATE uploading-far")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", None)

    workspace = await restart(cloud_sandbox, history_path)
    queue, history = workspace.queue, workspace.history
    assert history is not None
    [job] = queue.jobs
    assert job.state is JobState.INTERRUPTED
    assert job.message.startswith("Interrupted: the app closed while this file was uploading")
    queue.retry(job.id)
    await asyncio.wait_for(queue.wait(), timeout=30)
    assert [j.state for j in history.load(cloud_sandbox.url)] == [JobState.SUCCESS]
    await workspace.close()
    assert job.state is JobState.SUCCESS


@pytest.mark.asyncio
async def test_killed_while_server_processes(sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    sandbox.call(setattr, sandbox.sandbox.config, "processing_seconds", 3.0)
    history_path = tmp_path / "history.sqlite3"
    file = write(tmp_path / "model.ifc", (SAMPLES / "simple-wall.ifc").read_bytes())
    process = start_harness(sandbox, file, history_path)
    wait_for_line(process, "STATE processing" if sandbox.sandbox.flavor.value == "cloud" else "STATE queued")
    process.send_signal(signal.SIGKILL)
    process.wait(10)

    workspace = await restart(sandbox, history_path)
    queue = workspace.queue
    [job] = queue.jobs
    assert job.state.on_server  # re-attached, not restarted
    await asyncio.wait_for(queue.wait(), timeout=30)
    await workspace.close()
    assert job.state is JobState.SUCCESS and job.version_id
    assert len([r for r in sandbox.sandbox.requests if r.path.startswith(("/blob/", "/api/file"))]) <= 1


# -- bad input -----------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_file_deleted_or_changed_mid_upload(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 4e6)
    deleted = big_ifc(tmp_path / "deleted.ifc", 2_000_000)
    changed = big_ifc(tmp_path / "changed.ifc", 2_000_000)
    saved = big_ifc(tmp_path / "saved.ifc", 2_000_000)
    workspace = await open_engine(cloud_sandbox, retry=FAST, concurrency=3)
    queue = workspace.queue
    jobs = [queue.add(path, project_id(cloud_sandbox)) for path in (deleted, changed, saved)]
    await wait_until(lambda: bool(all(job.bytes_sent > 0 for job in jobs)))
    deleted.unlink()
    with changed.open("ab") as handle:
        handle.write(b"/* edited */\n")
    stat = saved.stat()  # saved again, same size: only the modification time tells
    os.utime(saved, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    await asyncio.wait_for(queue.wait(), timeout=30)
    await workspace.close()
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
    workspace = await open_engine(cloud_sandbox, retry=FAST, live=True)
    queue = workspace.queue
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "malformed")
    await wait_until(lambda: bool(job.state.on_server))
    cloud_sandbox.call(cloud_sandbox.sandbox.faults.append,
                       Fault("/graphql", 200, '{"data": {"project": {"id": "x", "ingestion": {"id": 1}}}}',
                             {"Content-Type": "application/json"}, method="POST"))
    await asyncio.wait_for(queue.wait(), timeout=30)
    await workspace.close()
    assert job.state is JobState.FAILED
    assert job.message.startswith("The server's answer was not understood")
    assert "ingestion" in job.message


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
    workspace = await open_engine(cloud_sandbox, history=history)
    queue = workspace.queue
    await workspace.close()
    assert saved == [51]
    assert history.load(cloud_sandbox.url)[-1].state is JobState.INTERRUPTED
    assert len(queue.jobs) == 51


@pytest.mark.asyncio
async def test_two_processes_share_the_history(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    """A command-line run uploads while the window starts on the same history: the window shows that job and
    leaves it alone (no "interrupted", no second upload on retry), and the two never share a job id."""
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 1e6)
    history_path = tmp_path / "history.sqlite3"
    process = start_harness(cloud_sandbox, big_ifc(tmp_path / "big.ifc", 6_000_000), history_path)
    try:
        wait_for_line(process, "STATE uploading-far")
        workspace = await restart(cloud_sandbox, history_path)
        [theirs] = workspace.queue.jobs
        assert theirs.state is JobState.UPLOADING and "another Speckle Uploader" in theirs.message
        assert not theirs.can_retry
        mine = workspace.queue.add(big_ifc(tmp_path / "mine.ifc", 1000), project_id(cloud_sandbox), "mine")
        assert mine.id != theirs.id
        await workspace.close()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", None)
    workspace = await restart(cloud_sandbox, history_path)  # now its process is gone: it was interrupted
    states = {job.path.name: job.state for job in workspace.queue.jobs}
    await workspace.close()
    assert states["big.ifc"] is JobState.INTERRUPTED
