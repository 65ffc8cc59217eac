"""Does the window stutter while files upload? A 1 ms QTimer heartbeat on the Qt thread records the gaps
while 4 large uploads and 200 queued jobs run in the real window (offscreen) against a sandbox in its own
process. Also counts table repaint requests per uploading row per second.

    .venv/bin/python benchmarks/responsiveness.py [--size-mb 300]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import itertools
import os
import statistics
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QTimer
from window_harness import SAMPLE, run_in_window, sandbox_process, sign_in_and_pick, work_folder

from speckle_uploader.jobs import JobState
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.main_window import MainWindow

PORT = 3995


class StallWatch:
    """Where the Qt thread is when the heartbeat is late: a thread samples its stack every 2 ms once a beat is
    more than 10 ms overdue, and garbage-collection pauses are timed. For finding causes, not for figures."""

    def __init__(self) -> None:
        self.last_beat = time.perf_counter()
        self.stacks: collections.Counter[str] = collections.Counter()
        self.gc_pauses: list[tuple[int, float]] = []
        self._gc_started = 0.0
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        gc.callbacks.append(self._on_gc)
        self._thread.start()
        self.slow_callbacks: collections.Counter[str] = collections.Counter()
        original = asyncio.events.Handle._run
        watch = self

        def timed_run(handle: asyncio.events.Handle) -> None:
            started = time.perf_counter()
            original(handle)
            took = time.perf_counter() - started
            if took > 0.005:
                watch.slow_callbacks[f"{took * 1000:3.0f} ms {handle._callback!r}"[:160]] += 1  # type: ignore[attr-defined]

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign,assignment]

    def beat(self) -> None:
        self.last_beat = time.perf_counter()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append((info["generation"], (time.perf_counter() - self._gc_started) * 1000))

    def _watch(self) -> None:
        while not self._stop.wait(0.002):
            if time.perf_counter() - self.last_beat > 0.010:
                frame = sys._current_frames().get(self._main)
                if frame is not None:
                    summary = traceback.extract_stack(frame)[-6:]
                    self.stacks[" <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                            for f in reversed(summary))] += 1

    def report(self) -> None:
        self._stop.set()
        ticks = os.sysconf("SC_CLK_TCK")
        per_thread = []
        for task in Path("/proc/self/task").iterdir():
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            per_thread.append(((int(fields[11]) + int(fields[12])) / ticks, (task / "comm").read_text().strip()))
        print("CPU seconds by thread: " + ", ".join(f"{name} {cpu:.2f}" for cpu, name in sorted(per_thread)[::-1]
                                                    if cpu >= 0.05))
        gc.callbacks.remove(self._on_gc)
        slow = sorted((ms, gen) for gen, ms in self.gc_pauses if ms > 5)
        print(f"gc: {len(self.gc_pauses)} collections, {len(slow)} over 5 ms: "
              + ", ".join(f"gen{gen} {ms:.0f} ms" for ms, gen in slow[-10:]))
        print("event-loop callbacks over 5 ms:")
        for text, count in sorted(self.slow_callbacks.items(), reverse=True)[:15]:
            print(f"  {count:3d}x {text}")
        print("Qt thread while a beat was >10 ms late (2 ms samples):")
        for stack, count in self.stacks.most_common(12):
            print(f"  {count:5d}  {stack}")


def make_files(folder: Path, big_mb: int, cold: bool) -> tuple[list[Path], list[Path]]:
    """Four large IFC files (a real header and end, a comment of filler between) and 200 small ones. Warm:
    read once, so the page cache holds them, as for files just saved. Cold: written to disk and dropped
    from the page cache (needs root; otherwise they are merely unread)."""
    src = SAMPLE.read_bytes()
    head, tail = src.split(b"ENDSEC;\nEND-ISO")
    end = b"*/\nENDSEC;\nEND-ISO" + tail
    filler = b"x" * (1 << 20)
    big = []
    for n in range(4):
        path = folder / f"federated-{n}.ifc"
        with path.open("wb") as f:
            f.write(head + b"/*")
            left = big_mb * 1024**2 - len(end) - len(head) - 2
            while left > 0:
                left -= f.write(filler[:left])
            f.write(end)
        big.append(path)
    os.sync()
    if cold:
        try:
            Path("/proc/sys/vm/drop_caches").write_text("1")
        except OSError as exc:
            print(f"(could not drop the page cache: {exc}; the files are unread but may be cached)")
    else:
        for path in big:
            with path.open("rb") as handle:
                while handle.read(16 << 20):
                    pass
    small = []
    for n in range(200):
        path = folder / f"part-{n:03d}.ifc"
        path.write_bytes(src)
        small.append(path)
    return big, small


async def measure(window: MainWindow, context: AppContext, url: str, big: list[Path], small: list[Path],
                  diagnose: bool) -> dict[str, float]:
    await sign_in_and_pick(window, context, url)

    repaints: dict[int, int] = {}
    window.table_model.dataChanged.connect(lambda a, _b, _r=None: repaints.__setitem__(
        a.row(), repaints.get(a.row(), 0) + 1))
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    watch = StallWatch() if diagnose else None
    if watch is not None:
        heartbeat.timeout.connect(watch.beat)
    heartbeat.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    main_started = time.thread_time()
    jobs = window.add_paths(big) + window.add_paths(small)
    big_jobs = jobs[:4]
    while not all(j.state.is_final or j.state.on_server for j in big_jobs):
        await asyncio.sleep(0.05)
    upload_seconds = time.perf_counter() - started
    app_cpu = (time.process_time() - cpu_started) / upload_seconds
    qt_thread_cpu = (time.thread_time() - main_started) / upload_seconds
    heartbeat.stop()
    if watch is not None:
        watch.report()
        late = [(a - started, (b - a) * 1000) for a, b in itertools.pairwise(beats) if b - a > 0.015]
        print(f"beats more than 15 ms apart ({len(late)}), at s after the drop: "
              + ", ".join(f"{at:.2f}:{ms:.0f}" for at, ms in late))
    gaps = sorted((b - a) * 1000 for a, b in itertools.pairwise(beats))
    uploading_rows = range(4)
    return {
        "upload seconds (4 large files)": upload_seconds,
        "app CPU, % of a core": app_cpu * 100,
        "Qt thread CPU, % of a core": qt_thread_cpu * 100,
        "heartbeats": len(beats),
        "longest gap ms": gaps[-1],
        "p99 gap ms": gaps[int(len(gaps) * 0.99)],
        "median gap ms": statistics.median(gaps),
        "repaints per uploading row per s": max(repaints.get(r, 0) for r in uploading_rows) / upload_seconds,
        "large files ok": float(all(j.state is not JobState.FAILED for j in big_jobs)),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--chunk-kb", type=int, default=0, help="try another upload chunk size")
    parser.add_argument("--small", type=int, default=200, help="queued small jobs besides the 4 large ones")
    parser.add_argument("--switch-ms", type=float, default=0, help="try another GIL switch interval")
    parser.add_argument("--blob-mbps", type=float, help="limit each upload to this many Mbit/s in the sandbox")
    parser.add_argument("--https-policy", action="store_true",
                        help="upload as to an https:// blob URL (no MD5), as against app.speckle.systems")
    parser.add_argument("--sandbox-nice", type=int, default=0, help="run the sandbox at this nice level")
    parser.add_argument("--cold", action="store_true", help="large files on disk, not in the page cache")
    parser.add_argument("--hidden", action="store_true", help="never show the window (no painting at all)")
    parser.add_argument("--diagnose", action="store_true", help="sample the Qt thread's stack during stalls")
    args = parser.parse_args()
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    if args.chunk_kb:
        from speckle_uploader.speckle import blob

        defaults = list(blob.put_blob.__kwdefaults__ or {})
        blob.put_blob.__kwdefaults__ = {**(blob.put_blob.__kwdefaults__ or {}), "chunk_size": args.chunk_kb * 1024}
        assert "chunk_size" in defaults
    if args.https_policy:  # the sandbox is plain http; treat its blob URLs as https ones are (no MD5)
        from speckle_uploader.speckle import blob

        blob.verifies_md5 = lambda url: False
    options = ["--blob-limit-mb", "2047", "--processing-seconds", "2"]
    if args.blob_mbps:
        options += ["--blob-mbps", str(args.blob_mbps)]
    with work_folder() as work, sandbox_process(PORT, work, *options, nice=args.sandbox_nice) as url:
        big, small = make_files(work, args.size_mb, args.cold)
        run_in_window(work, lambda window, context: measure(window, context, url, big, small[:args.small],
                                                            args.diagnose), show=not args.hidden)
    return 0


if __name__ == "__main__":
    sys.exit(main())
