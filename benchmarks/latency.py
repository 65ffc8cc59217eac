"""Status latency: from the sandbox changing an ingestion's state to the job's row in the window saying so,
by subscription and by polling (the sandbox with its websocket endpoint switched off).

    .venv/bin/python benchmarks/latency.py [--files 20]

The sandbox runs in this process (its own thread and loop), so both ends read the same clock: a store
listener stamps every state change, the table model's dataChanged stamps the row when it shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import qasync
from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtWidgets import QApplication
from window_harness import open_window, sign_in_and_pick, small_files, work_folder

from speckle_uploader.jobs import JobState
from speckle_uploader.sandbox import DEMO_TOKEN, SandboxConfig, ThreadedSandbox
from speckle_uploader.sandbox.store import Ingestion

Key = tuple[str, str]  # (ingestion id, what the row says: a step's message or the final state)


async def run(live: bool, files: list[Path], work: Path) -> tuple[list[float], int]:
    sandbox = ThreadedSandbox(SandboxConfig(processing_seconds=4.0, websockets_enabled=live))
    sandbox.start()
    changed: dict[Key, float] = {}

    def on_store_event(event: str, payload: object) -> None:
        if event == "ingestion" and isinstance(payload, Ingestion):
            key = payload.message if payload.status == "processing" else payload.status
            changed.setdefault((payload.id, key), time.perf_counter())

    sandbox.call(sandbox.sandbox.store.listeners.append, on_store_event)
    context, window = open_window(work / f"{live}.ini")
    shown: dict[Key, float] = {}

    def on_data_changed(top: QModelIndex | QPersistentModelIndex, bottom: QModelIndex | QPersistentModelIndex,
                        *_: object) -> None:
        now = time.perf_counter()
        for row in range(top.row(), bottom.row() + 1):
            job = window.table_model.jobs[row]
            if job.tracking_id is None:
                continue
            key = job.message if job.state is JobState.PROCESSING else job.state.name.lower()
            shown.setdefault((job.tracking_id, key), now)

    window.table_model.dataChanged.connect(on_data_changed)
    try:
        await sign_in_and_pick(window, context, sandbox.url, DEMO_TOKEN)
        jobs = window.add_paths(files)
        while not all(job.state.is_final for job in jobs):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
    finally:
        await context.shutdown()
        window.close_without_asking()
        sandbox.stop()
    missing = [key for key in changed if key not in shown]
    if missing and live:  # by polling, a step shorter than the interval may never be seen: that is expected
        print(f"  {len(missing)} changes never shown: {missing[:3]}")
    return sorted((shown[key] - at) * 1000 for key, at in changed.items() if key in shown), len(changed)


def report(name: str, latencies: list[float], total: int) -> None:
    p95 = latencies[int(len(latencies) * 0.95)]
    print(f"{name:<14} {len(latencies)} of {total} changes seen; latency median "
          f"{statistics.median(latencies):6.1f} ms, p95 {p95:6.1f} ms, max {latencies[-1]:6.1f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with work_folder() as work, loop:
        files = small_files(work, args.files)
        for live, name in ((True, "subscription"), (False, "polling")):
            latencies, total = loop.run_until_complete(run(live, files, work))
            report(name, latencies, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
