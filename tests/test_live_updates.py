"""Live status by subscription (graphql-ws), with polling as the fallback whenever the socket is down."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from speckle_uploader.jobs import Job, JobEvent, JobQueue, JobState
from speckle_uploader.jobs.policy import PollPolicy
from speckle_uploader.sandbox import Flavor, ThreadedSandbox
from tests.conftest import open_engine, project_id

# Rare safety polls, so that what arrives quickly can only have come by subscription.
LIVE_POLICY = PollPolicy(first=0.5, factor=1.5, maximum=1.0, live_interval=30.0)


def status_polls(server: ThreadedSandbox) -> int:
    return sum(1 for r in server.sandbox.requests if r.path == "/graphql" and r.method == "POST")


async def upload_live(server: ThreadedSandbox, path: Path, policy: PollPolicy = LIVE_POLICY,
                      on_event=None) -> tuple[Job, JobQueue]:  # type: ignore[no-untyped-def]
    workspace = await open_engine(server, poll=policy, live=True)
    queue = workspace.queue
    if on_event is not None:
        queue.subscribe(on_event)
    job = queue.add(path, project_id(server), "live")
    try:
        await asyncio.wait_for(queue.wait(), timeout=30)
    finally:
        await workspace.close()
    return job, queue


@pytest.mark.asyncio
async def test_status_arrives_by_subscription(sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    sandbox.call(setattr, sandbox.sandbox.config, "processing_seconds", 2.0)
    marks: dict[str, int] = {}
    states: list[JobState] = []

    def on_event(event: JobEvent, job: Job) -> None:
        states.append(job.state)
        if job.state.on_server:
            marks.setdefault("registered", status_polls(sandbox))

    job, _ = await upload_live(sandbox, sample_ifc, on_event=on_event)
    assert job.state is JobState.SUCCESS
    # The next-gen importer (fileimport) never says "converting": its uploads go from queued to done.
    assert (JobState.PROCESSING in states) is (sandbox.sandbox.config.flavor is not Flavor.FILE_IMPORT)
    # Over a 2 s import, one catch-up poll at most: every change came over the websocket.
    assert status_polls(sandbox) - marks["registered"] <= 1
    assert any(r.path == "/graphql" and r.method == "GET" for r in sandbox.sandbox.requests)  # the websocket


@pytest.mark.asyncio
async def test_latency_from_server_change_to_job(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    """The sandbox's final change reaches the job within 200 ms (by push; polls are 30 s apart)."""
    store = cloud_sandbox.sandbox.store
    changed_at: dict[str, float] = {}
    cloud_sandbox.call(store.listeners.append, lambda event, payload: changed_at.__setitem__(
        getattr(payload, "status", ""), time.monotonic()))
    arrived: dict[str, float] = {}

    def on_event(event: JobEvent, job: Job) -> None:
        arrived.setdefault(job.state.value, time.monotonic())

    job, _ = await upload_live(cloud_sandbox, sample_ifc, on_event=on_event)
    assert job.state is JobState.SUCCESS
    latency = arrived["success"] - changed_at["success"]
    print(f"push latency {latency * 1000:.1f} ms")
    assert 0 <= latency < 0.2, latency


@pytest.mark.asyncio
async def test_socket_dropped_mid_ingestion(cloud_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    """The socket breaks while the server works: polling carries the status, then a new socket takes over."""
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "processing_seconds", 3.0)
    workspace = await open_engine(cloud_sandbox, poll=LIVE_POLICY, live=True)
    session, queue = workspace.session, workspace.queue
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "dropped")
    assert session.live is not None
    deadline = time.monotonic() + 10
    while not (job.state is JobState.PROCESSING and session.live.connected) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    dropped = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
        cloud_sandbox.sandbox.drop_websockets(), cloud_sandbox.loop))
    assert dropped == 1
    await asyncio.wait_for(queue.wait(), timeout=20)
    connects = session.live.connects
    await workspace.close()
    assert job.state is JobState.SUCCESS
    assert connects >= 2  # reconnected


@pytest.mark.asyncio
async def test_websocket_refused_falls_back_to_polling(sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    sandbox.call(setattr, sandbox.sandbox.config, "websockets_enabled", False)
    job, queue = await upload_live(sandbox, sample_ifc)
    assert job.state is JobState.SUCCESS
    assert queue.backend.live is not None and queue.backend.live.connects == 0
    assert status_polls(sandbox) >= 3  # the status came by polling


@pytest.mark.asyncio
async def test_sandbox_speaks_graphql_ws(cloud_sandbox: ThreadedSandbox) -> None:
    url = cloud_sandbox.url.replace("http", "ws") + "/graphql"
    async with connect(url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "graphql-ws"
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        refused = json.loads(await ws.recv())
        assert refused == {"type": "connection_error", "payload": {"message": "You need a token to subscribe"}}
    async with connect(url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        # An unknown token is accepted at connect time, as on the real server (so check tokens over HTTP).
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nobody"}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        assert json.loads(await ws.recv()) == {"type": "ka"}
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": {"query": "subscription { nope }"}}))
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["id"] == "1"


def test_keepalives_are_sent(cloud_sandbox: ThreadedSandbox) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "keepalive_seconds", 0.1)

    async def count() -> int:
        url = cloud_sandbox.url.replace("http", "ws") + "/graphql"
        async with connect(url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": "Bearer sandbox-demo-token"}}))
            frames = [json.loads(await ws.recv()) for _ in range(5)]
        return sum(frame["type"] == "ka" for frame in frames)

    assert asyncio.run(count()) >= 4
