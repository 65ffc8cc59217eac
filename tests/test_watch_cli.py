"""``speckle-uploader watch`` as a real process: publishes, and SIGTERM mid-publish loses nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from speckle_uploader.sandbox import ThreadedSandbox
from tests.conftest import ROOT, big_ifc, project_id


def start_watch(server: ThreadedSandbox, folder: Path, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SPECKLE_TOKEN": "sandbox-demo-token",
           "SPECKLE_UPLOADER_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "speckle_uploader", "watch", "--server", server.url, "--project",
                             project_id(server), "--model", "site", "--settle", "0.2", "--json", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def history_states(home: Path) -> list[str]:
    path = home / "data" / "history.sqlite3"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return [row[0] for row in db.execute("SELECT state FROM jobs ORDER BY id")]
    except sqlite3.Error:
        return []


def wait_for(condition, limit: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def versions(server: ThreadedSandbox) -> int:
    project = server.sandbox.store.projects[project_id(server)]
    model = server.sandbox.store.model_by_name(project, "site")
    return len(model.versions) if model else 0


def test_sigterm_mid_publish_loses_nothing(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    big_ifc(folder / "site.ifc", 6_000_000)
    home = tmp_path / "home"
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 1e6)
    process = start_watch(cloud_sandbox, folder, home)
    try:
        wait_for(lambda: "uploading" in history_states(home))
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 143, err
    [line] = [json.loads(text) for text in out.splitlines()]
    assert line["status"] == "cancelled" and Path(line["file"]).name == "site.ifc"
    assert versions(cloud_sandbox) == 0

    # The next run catches up: the file is published once.
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", None)
    again = start_watch(cloud_sandbox, folder, home)
    try:
        wait_for(lambda: versions(cloud_sandbox) == 1 and history_states(home)[-1:] == ["success"])
        again.send_signal(signal.SIGTERM)
        out, err = again.communicate(timeout=30)
    finally:
        again.kill()
    assert again.returncode == 143, err
    assert [json.loads(text)["status"] for text in out.splitlines()] == ["success"]
    assert versions(cloud_sandbox) == 1


def test_the_systemd_example_runs_a_valid_watch_command() -> None:
    import configparser
    import shlex

    from speckle_uploader.cli import build_parser

    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read_string((ROOT / "packaging" / "linux" / "speckle-uploader-watch.service").read_text()
                     .replace("\\\n", " "))
    command = shlex.split(unit["Service"]["ExecStart"])
    assert command[0].endswith("/speckle-uploader") and command[1] == "watch"
    args = build_parser().parse_args(command[1:])
    assert args.json and args.model_template == "{path}/{stem}" and args.folders
    assert unit["Service"]["SuccessExitStatus"] == "143"
