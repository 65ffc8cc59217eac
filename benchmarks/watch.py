"""Watched folders: how soon a save is published, what watching 10,000 files costs, and that a slow writer
or a burst of saves is never published half-written or out of order.

    .venv/bin/python benchmarks/watch.py [--quick]

The sandbox runs as its own process (as a remote server would), the watch service in this one, so the CPU
and memory figures are the watcher's own. --quick shortens the slow writer and the burst (for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from speckle_uploader.jobs import JobState, Workspace
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.sandbox import DEMO_TOKEN
from speckle_uploader.watch import ModelMode, PublishRule, WatchService
from speckle_uploader.watch.files import scan
from speckle_uploader.watch.rule_store import Published, RuleStore, model_key

SAMPLE = (Path(__file__).resolve().parent.parent / "resources" / "samples" / "simple-wall.ifc").read_bytes()


def ifc(path: Path, note: str, pad: int = 0) -> None:
    head, tail = SAMPLE.split(b"ENDSEC;\nEND-ISO-10303-21;")
    path.write_bytes(head + f"/* {note} */".encode() + b" " * pad + b"\nENDSEC;\nEND-ISO-10303-21;" + tail)


def rss_mb() -> float:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_sandbox() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "speckle_uploader", "sandbox", "--flavor", "fileimport",
                                "--port", str(port), "--processing-seconds", "0.2", "--blob-limit-mb", "1000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the sandbox did not start")


async def project_of(workspace: Workspace) -> str:
    return (await workspace.session.client.projects(search="Riverside")).items[0].id


@asynccontextmanager
async def watched(url: str, work: Path, name: str) -> AsyncIterator[tuple[Workspace, Path, PublishRule]]:
    """A fresh folder ``name`` watched with the defaults (10 s settling), into the model ``name``."""
    folder = work / name
    folder.mkdir()
    async with await Workspace.open(url, DEMO_TOKEN, history=work / f"{name}.sqlite3") as workspace:
        service = WatchService(workspace)
        rule = PublishRule(folder, url, await project_of(workspace), model_mode=ModelMode.FIXED, model_name=name)
        await service.start([rule])
        try:
            yield workspace, folder, rule
        finally:
            await service.stop()


async def save_to_upload(url: str, work: Path, runs: int) -> list[float]:
    """Seconds from a file's last write to its upload starting, with the default 10 s settling time."""
    delays = []
    async with watched(url, work, "latency") as (workspace, folder, _rule):
        for run in range(runs):
            started = asyncio.Event()
            saved_at = [0.0]

            def on_event(event: object, job: object, done: asyncio.Event = started) -> None:
                if getattr(job, "state", None) is JobState.UPLOADING:
                    done.set()

            unsubscribe = workspace.queue.subscribe(on_event)
            ifc(folder / "model.ifc", f"run {run}")
            saved_at[0] = time.monotonic()
            await asyncio.wait_for(started.wait(), 60)
            delays.append(time.monotonic() - saved_at[0])
            unsubscribe()
            await workspace.queue.wait()
    return delays


async def ten_thousand(url: str, work: Path, count: int) -> dict[str, float]:
    """First scan of a tree of ``count`` files already published, then idle CPU and memory while watching."""
    tree = work / "tree"
    for index in range(count):
        folder = tree / f"building-{index // 500:02d}" / f"level-{index // 50 % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"element-{index:05d}.ifc").write_bytes(b"ISO-10303-21;")
    started = time.perf_counter()
    found = scan(tree, ["*.ifc"])
    first_scan = time.perf_counter() - started
    history = JobHistory.open(work / "tree.sqlite3").history
    assert history is not None
    async with await Workspace.open(url, DEMO_TOKEN, history=history) as workspace:
        project = await project_of(workspace)
        rule = PublishRule(tree, url, project, model_mode=ModelMode.FIXED, model_name="tree")
        store = RuleStore(history)
        key = model_key(url, project, "tree")
        for path, state in found.items():  # as if every file had been published before
            store.record(rule.key, Published(str(path.relative_to(tree)), key, "seed", state.size, state.mtime_ns,
                                             "seed", time.time()))
        await asyncio.sleep(1)
        idle_rss = rss_mb()
        service = WatchService(workspace, store=store)
        before_cpu, before = cpu_seconds(), time.perf_counter()
        await service.start([rule])
        while service.statuses[0].files_seen < count:
            await asyncio.sleep(0.05)
        catch_up = time.perf_counter() - before
        await asyncio.sleep(5)  # the first scan's garbage settles
        watching_rss = rss_mb()
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        await asyncio.sleep(60)  # watching, nothing changes
        idle_cpu = (cpu_seconds() - cpu0) / (time.perf_counter() - t0)
        publisher = service._publishers[rule.id or 0]
        cpu1 = cpu_seconds()
        publisher.apply_scan(await asyncio.to_thread(publisher.scan_now), time.monotonic())
        rescan_cpu = cpu_seconds() - cpu1  # the safety-net rescan, every service.rescan_seconds
        jobs = len(workspace.queue.jobs)
        await service.stop()
    history.close()
    del before_cpu
    return {"files": len(found), "first_scan_s": first_scan, "service_catch_up_s": catch_up,
            "idle_cpu_percent": idle_cpu * 100, "rescan_cpu_s": rescan_cpu,
            "rescan_share_percent": rescan_cpu / service.rescan_seconds * 100, "rss_idle_app_mb": idle_rss,
            "rss_watching_mb": watching_rss,
            "jobs_started": jobs}


async def slow_writer(url: str, work: Path, megabytes: int, seconds: float) -> dict[str, float]:
    """A file written in 1 MB steps over ``seconds``: its upload must not start before the last byte."""
    async with watched(url, work, "slow") as (workspace, folder, _rule):
        head, tail = SAMPLE.split(b"ENDSEC;\nEND-ISO-10303-21;")
        path = folder / "slow.ifc"
        chunk = b" " * (1024 * 1024)
        with path.open("wb") as handle:
            handle.write(head + b"/*")
            for _ in range(megabytes):
                handle.write(chunk)
                handle.flush()
                await asyncio.sleep(seconds / megabytes)
            handle.write(b"*/\nENDSEC;\nEND-ISO-10303-21;" + tail)
        finished_writing = time.time()
        final_size = path.stat().st_size
        while not workspace.queue.jobs or not workspace.queue.jobs[-1].state.is_final:
            await asyncio.sleep(0.1)
        jobs = workspace.queue.jobs
    return {"jobs": len(jobs), "first_job_after_last_write_s": jobs[0].created_at - finished_writing,
            "first_upload_after_last_write_s": (jobs[0].started_at or 0) - finished_writing,
            "uploaded_complete_file": float(all(j.size == final_size for j in jobs if j.state is JobState.SUCCESS)),
            "succeeded": float(sum(j.state is JobState.SUCCESS for j in jobs))}


async def burst(url: str, work: Path, saves: int, interval: float) -> dict[str, object]:
    """``saves`` saves of one file ``interval`` s apart: at most the first and the last become versions,
    in that order."""
    async with watched(url, work, "burst") as (workspace, folder, rule):
        for number in range(1, saves + 1):
            ifc(folder / "burst.ifc", f"save {number:02d}", pad=number)  # the size tells the save apart
            await asyncio.sleep(interval)
        await asyncio.sleep(rule.settle_seconds + 3)
        await workspace.queue.wait()
        published = [j.size for j in workspace.queue.jobs if j.state is JobState.SUCCESS]
    base = len(SAMPLE) + len("/* save 00 */\n")
    order = [size - base for size in published]
    return {"saves": saves, "published_saves": order, "in_order": order == sorted(order),
            "last_published": bool(order) and order[-1] == saves}


async def main(quick: bool, only: str | None) -> None:
    process, url = start_sandbox()
    work = Path(tempfile.mkdtemp(prefix="watch-bench-"))
    try:
        print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · load {os.getloadavg()[0]:.1f} · "
              f"{os.cpu_count()} cores · Python {sys.version.split()[0]}")
        if only in (None, "latency"):
            delays = await save_to_upload(url, work, 2 if quick else 3)
            print(f"save → upload start (settle 10 s): {', '.join(f'{d:.2f}' for d in delays)} s "
                  f"(median {statistics.median(delays):.2f})")
        if only in (None, "tree"):
            print("10,000 files:", await ten_thousand(url, work, 10_000))
        if only in (None, "slow"):
            print("slow writer:", await slow_writer(url, work, 30 if quick else 300, 6 if quick else 60))
        if only in (None, "burst"):
            print("burst of saves:", await burst(url, work, 20, 0.5 if quick else 3.0))
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["latency", "tree", "slow", "burst"])
    arguments = parser.parse_args()
    asyncio.run(main(arguments.quick, arguments.only))
