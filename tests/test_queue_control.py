"""The queue is the user's: pause and resume, a speed limit shared by every upload (fake clock for the limiter
itself; the sandbox counts bytes for the real PUT), and the addresses people paste."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from speckle_uploader.jobs import JobState
from speckle_uploader.jobs.bandwidth import Bandwidth, parse_rate
from speckle_uploader.jobs.queue import PAUSED, WAITING_FOR_SLOT
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.speckle.blob import stream_file
from speckle_uploader.speckle.server_url import parse_proxy, parse_server_address
from tests.conftest import SAMPLES, finished, open_engine, project_id, wait_until, write


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.asyncio
async def test_the_bucket_averages_to_the_limit() -> None:
    clock = FakeClock()
    bucket = Bandwidth(100_000, clock=clock, sleep=clock.sleep)
    for _ in range(50):  # 50 chunks of 64 KiB at 100 kB/s: ~32 s, less the first second's allowance
        await bucket.take(65_536)
    assert 31.0 <= clock.now <= 33.0
    assert max(clock.slept) <= 0.25  # short sleeps: a changed limit takes effect soon


@pytest.mark.asyncio
async def test_lifting_the_limit_frees_a_waiting_chunk() -> None:
    clock = FakeClock()
    bucket = Bandwidth(1000, clock=clock, sleep=clock.sleep)
    await bucket.take(1000)
    await bucket.take(1_000_000)  # on credit: the next one waits ~1000 s ...
    slept_before = clock.now

    async def lift_soon(seconds: float) -> None:
        await FakeClock.sleep(clock, seconds)
        bucket.set_limit(None)

    bucket._sleep = lift_soon
    await bucket.take(10)  # ... unless the limit is lifted meanwhile
    assert clock.now - slept_before <= 0.25 and bucket.limit is None


@pytest.mark.asyncio
async def test_the_limit_applies_to_the_stream(tmp_path: Path) -> None:
    path = write(tmp_path / "f.bin", b"x" * 300_000)
    taken: list[int] = []

    async def throttle(nbytes: int) -> None:
        taken.append(nbytes)

    chunks = [chunk async for chunk in stream_file(path, 300_000, None, chunk_size=65_536, throttle=throttle)]
    assert taken == [len(c) for c in chunks] and sum(taken) == 300_000


def test_rates_as_people_write_them() -> None:
    assert parse_rate("500k") == 500 * 1024
    assert parse_rate("2M") == parse_rate("2 MB/s") == 2 * 1024 * 1024
    assert parse_rate("0") is None
    for wrong in ("fast", "-5M", "nan", "inf"):
        with pytest.raises(ValueError, match="is not a speed"):
            parse_rate(wrong)
    with pytest.raises(ValueError):
        Bandwidth(-1)


@pytest.mark.asyncio
async def test_a_paused_queue_starts_nothing_until_resumed(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    workspace = await open_engine(cloud_sandbox)
    queue = workspace.queue
    pauses: list[bool] = []
    queue.pause_listeners.append(pauses.append)
    try:
        queue.pause()
        paths = [write(tmp_path / f"wall-{i}.ifc", (SAMPLES / "simple-wall.ifc").read_bytes()) for i in range(3)]
        jobs = [queue.add(path, project_id(cloud_sandbox), "paused") for path in paths]
        await wait_until(lambda: all(job.message == PAUSED for job in jobs), 10, "the jobs to say they are paused")
        puts = len([r for r in cloud_sandbox.sandbox.requests if r.method == "PUT"])
        assert puts == 0 and all(job.state is JobState.WAITING and job.started_at is None for job in jobs)
        queue.resume()
        assert pauses == [True, False] and not queue.paused
        done = await finished(workspace)
        assert [job.state for job in done] == [JobState.SUCCESS] * 3
    finally:
        await workspace.close()


@pytest.mark.asyncio
async def test_pausing_while_waiting_for_a_slot_says_so(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 400_000)
    workspace = await open_engine(cloud_sandbox, concurrency=1)
    queue = workspace.queue
    try:
        paths = [write(tmp_path / f"wall-{i}.ifc", (SAMPLES / "simple-wall.ifc").read_bytes() * 40)
                 for i in range(2)]
        first, second = (queue.add(path, project_id(cloud_sandbox), "slots") for path in paths)
        await wait_until(lambda: first.state is JobState.UPLOADING and second.message == WAITING_FOR_SLOT, 10,
                         "one upload and one waiting")
        queue.pause()
        assert second.message == PAUSED
        await wait_until(lambda: first.state.is_final, 30, "the running upload to finish")
        assert first.state is JobState.SUCCESS and second.state is JobState.WAITING  # a running one finishes
        queue.resume()
        await finished(workspace)
        assert second.state is JobState.SUCCESS
    finally:
        await workspace.close()


@pytest.mark.asyncio
async def test_the_queue_limits_the_put(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    workspace = await open_engine(cloud_sandbox, limit_rate=1e9)
    taken: list[int] = []
    original = workspace.queue.bandwidth.take

    async def counting(nbytes: int) -> None:
        taken.append(nbytes)
        await original(nbytes)

    assert workspace.queue.backend.throttle is not None
    workspace.queue.backend.throttle = counting
    try:
        path = write(tmp_path / "wall.ifc", (SAMPLES / "simple-wall.ifc").read_bytes())
        workspace.queue.add(path, project_id(cloud_sandbox), "limited")
        [job] = await finished(workspace)
        assert job.state is JobState.SUCCESS and sum(taken) == path.stat().st_size
    finally:
        await workspace.close()


def test_pasted_addresses() -> None:
    assert parse_server_address("127.0.0.1:3000").url == "http://127.0.0.1:3000"
    assert parse_server_address("localhost:3000/graphql").url == "http://localhost:3000"
    assert parse_server_address("[::1]:3000").url == "http://[::1]:3000"
    assert parse_server_address("speckle.example.com").url == "https://speckle.example.com"
    assert parse_server_address("https://speckle.example.com/graphql/").url == "https://speckle.example.com"
    address = parse_server_address("https://app.speckle.systems/projects/abc/models/def@123")
    assert (address.url, address.project_id, address.model_id) == ("https://app.speckle.systems", "abc", "def")
    address = parse_server_address("https://example.com/speckle/projects/abc")
    assert (address.url, address.project_id, address.model_id) == ("https://example.com/speckle", "abc", None)
    assert parse_server_address("https://example.com/streams/abc/branches/main").model_id == "main"
    assert parse_server_address("https://example.com/projects/abc/models/m1,m2").model_id == "m1"
    for wrong in ("", "ftp://example.com", "https://"):
        with pytest.raises(ValueError):
            parse_server_address(wrong)


def test_proxies() -> None:
    assert parse_proxy("") == ""
    assert parse_proxy("proxy.example.com:8080") == "http://proxy.example.com:8080"
    assert parse_proxy("socks5://10.0.0.1:1080/") == "socks5://10.0.0.1:1080"
    for wrong in ("zzz", "tok-4f2a9c1b7e0d", "ftp://p:21", "http://p:99999", "http://p:80/path", "a b:80"):
        with pytest.raises(ValueError, match="proxy is not an address") as caught:
            parse_proxy(wrong)
        assert wrong not in str(caught.value)


@pytest.mark.asyncio
async def test_the_limit_can_change_while_uploads_run(cloud_sandbox: ThreadedSandbox) -> None:
    workspace = await open_engine(cloud_sandbox)
    try:
        assert workspace.queue.bandwidth.limit is None
        workspace.queue.set_limit_rate(200_000)
        assert workspace.queue.bandwidth.limit == 200_000
    finally:
        await workspace.close()
    await asyncio.sleep(0)
