"""1,000 files dropped at once on the real window (offscreen) against a sandbox in its own process: how
long until all the rows are in the table and painted, what it costs in memory, and how long a scroll step
takes to paint while those jobs run.

    .venv/bin/python benchmarks/scale.py [--files 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from window_harness import run_in_window, sandbox_process, sign_in_and_pick, small_files, work_folder

from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.main_window import MainWindow

PORT = 3994


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**2


class PaintClock(QObject):
    """Records when the table's viewport last painted."""

    def __init__(self) -> None:
        super().__init__()
        self.last = 0.0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.last = time.perf_counter()
        return False


async def measure(window: MainWindow, context: AppContext, url: str, files: list[Path]) -> dict[str, float]:
    await sign_in_and_pick(window, context, url)
    clock = PaintClock()
    window.table.viewport().installEventFilter(clock)
    before = rss_mb()

    dropped = time.perf_counter()
    jobs = window.add_paths(files)
    added = time.perf_counter()
    while clock.last < added:  # the first paint after the rows arrived
        await asyncio.sleep(0.001)
    shown = clock.last
    rows = window.table_model.rowCount()
    after_drop = rss_mb()

    # scroll through the whole table a page at a time while the jobs run, painting each step at once
    bar = window.table.verticalScrollBar()
    steps: list[float] = []
    for value in list(range(0, bar.maximum() + 1, max(1, bar.pageStep()))) * 2:
        bar.setValue(value)
        started = time.perf_counter()
        window.table.viewport().repaint()
        steps.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.016)
    while not all(job.state.is_final for job in jobs):
        await asyncio.sleep(0.2)
    done = rss_mb()
    succeeded = sum(job.state.name == "SUCCESS" for job in jobs)
    steps.sort()
    return {
        "rows in the table": rows,
        "drop to rows added, ms": (added - dropped) * 1000,
        "drop to rows painted, ms": (shown - dropped) * 1000,
        "RSS before the drop, MB": before,
        "RSS growth with 1,000 rows, MB": after_drop - before,
        "RSS growth once all finished, MB": done - before,
        "peak RSS, MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "scroll steps painted": len(steps),
        "scroll step paint median ms": statistics.median(steps),
        "scroll step paint max ms": steps[-1],
        "jobs succeeded": succeeded,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with work_folder() as work, sandbox_process(PORT, work, "--processing-seconds", "0.5") as url:
        files = small_files(work, args.files, "level-room-{:04d}.ifc")
        run_in_window(work, lambda window, context: measure(window, context, url, files), size=(1100, 700))
    return 0


if __name__ == "__main__":
    sys.exit(main())
