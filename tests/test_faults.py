"""Passing faults are survived; lasting ones end the job with the reason (issue 4 extends this)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from speckle_uploader.jobs import JobQueue, JobState
from speckle_uploader.jobs.policy import PollPolicy, RetryPolicy
from speckle_uploader.progress import LineLog, LiveDisplay
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.sandbox.server import Fault
from tests.conftest import open_engine, project_id

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05)


async def run_one(server: ThreadedSandbox, path: Path, **options: object) -> tuple[JobQueue, list[str]]:
    workspace = await open_engine(server, retry=FAST_RETRY, **options)  # type: ignore[arg-type]
    queue = workspace.queue
    messages: list[str] = []
    queue.subscribe(lambda event, job: messages.append(job.message))
    queue.add(path, project_id(server), "faults")
    await queue.wait()
    await workspace.close()
    return queue, messages


@pytest.mark.asyncio
async def test_blob_storage_503_then_success(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    slow_down = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    cloud_sandbox.call(cloud_sandbox.sandbox.faults.append, Fault("/blob/", 503, slow_down))
    queue, messages = await run_one(cloud_sandbox, sample_ifc)
    job = queue.jobs[0]
    assert job.state is JobState.SUCCESS
    assert job.attempt == 2
    assert any("SlowDown: Please reduce your request rate." in m and "attempt 2 of 3" in m for m in messages)


@pytest.mark.asyncio
async def test_gateway_errors_while_following(fileimport_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    """Three 502s from the server while it processes: the job still reaches its true end."""
    fault = Fault("/graphql", 502, "<html>Bad Gateway</html>", times=3)
    await_first = [False]

    workspace = await open_engine(fileimport_sandbox, retry=FAST_RETRY,
                                  poll=PollPolicy(first=0.02, factor=1.0, maximum=0.05, give_up_after=10))
    queue = workspace.queue
    messages: list[str] = []

    def on_change(event: object, job: object) -> None:
        messages.append(queue.jobs[0].message)
        if queue.jobs[0].state is JobState.QUEUED and not await_first[0]:
            await_first[0] = True
            fileimport_sandbox.call(fileimport_sandbox.sandbox.faults.append, fault)

    queue.subscribe(on_change)
    queue.add(sample_ifc, project_id(fileimport_sandbox), "faults")
    await queue.wait()
    await workspace.close()
    assert queue.jobs[0].state is JobState.SUCCESS
    assert fault.times == 0
    assert any(m.startswith("Lost contact with the server; still trying") for m in messages)


@pytest.mark.asyncio
async def test_lasting_failure_ends_the_job(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    cloud_sandbox.call(cloud_sandbox.sandbox.faults.append, Fault("/blob/", 500, "", times=10))
    queue, _ = await run_one(cloud_sandbox, sample_ifc)
    job = queue.jobs[0]
    assert job.state is JobState.FAILED
    assert job.attempt == 3
    assert job.message.startswith("Blob storage had a problem (HTTP 500")


@pytest.mark.asyncio
async def test_terminal_displays(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    live, log = io.StringIO(), io.StringIO()
    workspace = await open_engine(cloud_sandbox)
    queue = workspace.queue
    queue.subscribe(LiveDisplay(live))
    queue.subscribe(LineLog(log))
    queue.add(sample_ifc, project_id(cloud_sandbox), "display")
    await queue.wait()
    await workspace.close()
    assert "\x1b[1F" in live.getvalue()  # redrawn in place
    assert live.getvalue().rstrip().endswith("success: New version created")
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("simple-wall.ifc: waiting")
    assert lines[-1] == "simple-wall.ifc: success: New version created"
    assert len(lines) == len(set(lines))  # no repeated lines


def test_a_pipe_hears_of_a_long_upload_every_tenth_or_ten_seconds() -> None:
    from pathlib import Path

    from speckle_uploader.jobs import Job, JobEvent

    now = [0.0]
    out = io.StringIO()
    log = LineLog(out, clock=lambda: now[0])
    job = Job(id=1, path=Path("tower.ifc"), project_id="p", model_name="m", size=300_000_000,
              state=JobState.UPLOADING, message="Uploading")
    log(JobEvent.STATE, job)
    for step in range(1, 31):  # 10 MB a second, progress every half second
        for half in (0.5, 1.0):
            now[0] = step - 1 + half
            job.bytes_sent = int(step * 10_000_000 - (10_000_000 if half == 0.5 else 0) / 2)
            log(JobEvent.PROGRESS, job)
    progress = [line for line in out.getvalue().splitlines() if "uploading" in line and "%" in line]
    assert 9 <= len(progress) <= 12  # about one per tenth of the file, never one per chunk
    assert progress[0].startswith("tower.ifc: uploading 10% (")

    slow = io.StringIO()
    log = LineLog(slow, clock=lambda: now[0])
    job.bytes_sent, now[0] = 0, 0.0
    log(JobEvent.STATE, job)
    for second in range(1, 41):  # 0.2 % a second: the next tenth never comes, ten seconds do (at 11, 21, 31)
        now[0] = float(second)
        job.bytes_sent = second * 600_000
        log(JobEvent.PROGRESS, job)
    assert len([line for line in slow.getvalue().splitlines() if "uploading" in line and "%" in line]) == 3


def test_a_line_said_during_a_live_display_is_not_drawn_over() -> None:
    from pathlib import Path

    from speckle_uploader.jobs import Job, JobEvent

    out = io.StringIO()
    display = LiveDisplay(out)
    job = Job(id=1, path=Path("tower.ifc"), project_id="p", model_name="m", size=10, state=JobState.UPLOADING)
    display(JobEvent.ADDED, job)
    display.say("speckle-uploader: cancelling (Ctrl-C again to stop waiting)")
    text = out.getvalue()
    hint = text.index("cancelling")
    assert "\x1b[1F\x1b[J" in text[:hint]  # the block was cleared first
    assert text.rindex("tower.ifc") > hint  # and drawn again below the hint
