"""``python -m speckle_uploader.demo``: the sandbox plus the sample files, no account needed.

Starts the sandbox in this process and uploads the sample IFC files with the same engine the CLI and the
window use, showing live progress, then keeps the sandbox running so you can try the CLI against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from speckle_uploader.jobs import JobState, Workspace
from speckle_uploader.progress import LineLog, LiveDisplay
from speckle_uploader.resources import samples_dir
from speckle_uploader.sandbox import DEMO_TOKEN, SandboxConfig, ThreadedSandbox


async def upload_samples(url: str) -> bool:
    async with await Workspace.open(url, DEMO_TOKEN) as workspace:  # the demo leaves no history behind
        session, queue = workspace.session, workspace.queue
        projects = await session.client.projects(search="Riverside")
        project = projects.items[0]
        print(f"Signed in to {session.server.name} as {session.user.name}; uploading the samples to "
              f"“{project.name}”:\n", file=sys.stderr)
        queue.subscribe(LiveDisplay() if sys.stderr.isatty() else LineLog())
        for sample in sorted(samples_dir().glob("*.ifc")):
            queue.add(sample, project.id)
        jobs = await queue.wait()
        print("", file=sys.stderr)
        for job in jobs:
            print(f"  {job.file_name}: {job.state.value} → {job.version_url(url) or job.message}", file=sys.stderr)
        return all(job.state is JobState.SUCCESS for job in jobs)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    with ThreadedSandbox(SandboxConfig(processing_seconds=1.5)) as sandbox:
        ok = asyncio.run(upload_samples(sandbox.url))
        if "--exit" in args:
            return 0 if ok else 1
        print(f"\nThe sandbox keeps running at {sandbox.url} (token {DEMO_TOKEN}). Try:\n"
              f"  SPECKLE_TOKEN={DEMO_TOKEN} .venv/bin/speckle-uploader projects --server {sandbox.url}\n"
              "Ctrl-C stops it.", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.wait()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
