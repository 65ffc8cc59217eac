"""A stand-in for the app, killed with SIGKILL by tests: runs one upload with the history, prints states."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from speckle_uploader.jobs import JobEvent, Workspace


async def main(server_url: str, project_id: str, file: str, history_path: str) -> None:
    workspace = await Workspace.open(server_url, "sandbox-demo-token", history=Path(history_path))
    queue = workspace.queue
    queue.subscribe(lambda event, job: event is not JobEvent.PROGRESS and print(
        f"STATE {job.state.value} {job.bytes_sent}", flush=True))
    queue.subscribe(lambda event, job: event is JobEvent.PROGRESS and job.bytes_sent > 1_000_000 and print(
        f"STATE uploading-far {job.bytes_sent}", flush=True))
    queue.add(Path(file), project_id, "killed")
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
