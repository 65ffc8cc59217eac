"""Does the window stutter while files upload? A 1 ms QTimer heartbeat on the Qt thread records the gaps
while 4 large uploads and 200 queued jobs run in the real window (offscreen) against a sandbox in its own
process. Also counts table repaint requests per uploading row per second.

    .venv/bin/python benchmarks/responsiveness.py [--size-mb 300]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from speckle_uploader.credentials import CredentialStore
from speckle_uploader.jobs import JobState
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
PORT = 3995


def make_files(folder: Path, big_mb: int) -> tuple[list[Path], list[Path]]:
    src = (ROOT / "resources" / "samples" / "simple-wall.ifc").read_bytes()
    head, tail = src.split(b"ENDSEC;\nEND-ISO")
    end = b"*/\nENDSEC;\nEND-ISO" + tail
    big = []
    for n in range(4):
        path = folder / f"federated-{n}.ifc"
        with path.open("wb") as f:
            f.write(head + b"/*")
            f.truncate(big_mb * 1024**2 - len(end))
            f.seek(big_mb * 1024**2 - len(end))
            f.write(end)
        big.append(path)
    small = []
    for n in range(200):
        path = folder / f"part-{n:03d}.ifc"
        path.write_bytes(src)
        small.append(path)
    return big, small


async def measure(window: MainWindow, context: AppContext, big: list[Path], small: list[Path]) -> dict[str, float]:
    await context.sign_in(f"http://127.0.0.1:{PORT}", "sandbox-demo-token")
    await asyncio.sleep(1.0)
    window.picker.projects.select_where(lambda p: p.name == "Riverside Library")
    await asyncio.sleep(0.5)
    window.picker.models.select_where(lambda m: m == "per-file")
    await asyncio.sleep(0.3)

    repaints: dict[int, int] = {}
    window.table_model.dataChanged.connect(lambda a, _b, _r=None: repaints.__setitem__(
        a.row(), repaints.get(a.row(), 0) + 1))
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    heartbeat.start()
    started = time.perf_counter()
    jobs = window.add_paths(big) + window.add_paths(small)
    big_jobs = jobs[:4]
    while not all(j.state.is_final or j.state.on_server for j in big_jobs):
        await asyncio.sleep(0.05)
    upload_seconds = time.perf_counter() - started
    heartbeat.stop()
    gaps = sorted((b - a) * 1000 for a, b in itertools.pairwise(beats))
    uploading_rows = range(4)
    return {
        "upload seconds (4 large files)": upload_seconds,
        "heartbeats": len(beats),
        "longest gap ms": gaps[-1],
        "p99 gap ms": gaps[int(len(gaps) * 0.99)],
        "median gap ms": statistics.median(gaps),
        "repaints per uploading row per s": max(repaints.get(r, 0) for r in uploading_rows) / upload_seconds,
        "large files ok": float(all(j.state is not JobState.FAILED for j in big_jobs)),
    } | await _shutdown(context)


async def _shutdown(context: AppContext) -> dict[str, float]:
    await context.shutdown()
    return {}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--chunk-kb", type=int, default=0, help="try another upload chunk size")
    parser.add_argument("--small", type=int, default=200, help="queued small jobs besides the 4 large ones")
    parser.add_argument("--switch-ms", type=float, default=0, help="try another GIL switch interval")
    args = parser.parse_args()
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    if args.chunk_kb:
        from speckle_uploader.speckle import blob

        defaults = list(blob.put_blob.__kwdefaults__ or {})
        blob.put_blob.__kwdefaults__ = {**(blob.put_blob.__kwdefaults__ or {}), "chunk_size": args.chunk_kb * 1024}
        assert "chunk_size" in defaults
    work = Path(tempfile.mkdtemp(prefix="speckle-bench-"))
    sandbox = subprocess.Popen([str(ROOT / ".venv" / "bin" / "speckle-uploader"), "sandbox", "--port", str(PORT),
                                "--blob-limit-mb", "2047", "--processing-seconds", "2", "--data-dir",
                                str(work / "blobs")], stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        big, small = make_files(work, args.size_mb)
        small = small[:args.small]
        app = QApplication(sys.argv[:1])
        app.setQuitOnLastWindowClosed(False)
        context = AppContext(CredentialStore(), QSettings(str(work / "s.ini"), QSettings.Format.IniFormat))
        context.remember_tokens = False
        window = MainWindow(context)
        window.show()
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            results = loop.run_until_complete(measure(window, context, big, small))
        for key, value in results.items():
            print(f"{key}: {value:.1f}")
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
