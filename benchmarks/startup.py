"""Start-up: wall time from launching the process to the main window's first paint, under Xvfb, warm disk
cache, medians of several launches; a bare PySide6 window as the reference, then the app from source and,
when built (`packaging/linux/build.sh`), the PyInstaller bundle.

    .venv/bin/python benchmarks/startup.py [--runs 7]

The app prints the time of its first paint with the hidden `--startup-probe` flag, then closes. It starts
with an empty settings folder (SPECKLE_UPLOADER_HOME), so it shows the window signed out, as on first use.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def launch(command: list[str], env: dict[str, str]) -> float:
    started = time.time()
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    line = next((line for line in out.stdout.splitlines() if line.startswith("first paint at")), None)
    if line is None:
        raise SystemExit(f"{command[0]} showed no window: {out.stderr[-500:]}")
    return float(line.split()[-1]) - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ, SPECKLE_UPLOADER_HOME=tempfile.mkdtemp(prefix="speckle-startup-"))
    display = None
    if not env.get("DISPLAY") and shutil.which("Xvfb"):
        display = subprocess.Popen(["Xvfb", ":97", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                   stderr=subprocess.DEVNULL)
        env["DISPLAY"] = ":97"
        time.sleep(1)
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed app: compiled modules cached after the first run
    candidates = {
        "bare PySide6 window": [sys.executable, str(ROOT / "benchmarks" / "bare_window.py")],
        "app from source": [str(ROOT / ".venv" / "bin" / "speckle-uploader"), "--startup-probe"],
    }
    bundle = ROOT / "dist" / "Speckle Uploader" / "speckle-uploader"
    if bundle.exists():
        candidates["app from the bundle"] = [str(bundle), "--startup-probe"]
    try:
        for name, command in candidates.items():
            launch(command, env)  # warm the disk cache
            times = [launch(command, env) for _ in range(args.runs)]
            print(f"{name:<22} median {statistics.median(times) * 1000:5.0f} ms  "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {args.runs} launches)", flush=True)
    finally:
        if display is not None:
            display.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
