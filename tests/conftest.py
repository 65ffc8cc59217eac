"""Shared fixtures: a sandbox server per flavor (fast timings) and sample files."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# History, logs and settings of the app under test go to a throw-away folder, never the user's own.
os.environ["SPECKLE_UPLOADER_HOME"] = tempfile.mkdtemp(prefix="speckle-uploader-tests-")

import keyring

from speckle_uploader.jobs import EngineSettings, Job, Workspace
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.sandbox import DEMO_TOKEN, Flavor, SandboxConfig, ThreadedSandbox
from tests.keyrings import MemoryKeyring

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
SHARED_SCHEMA = ROOT.parent / "shared" / "speckle-schema"

FAST = {"queue_seconds": 0.05, "processing_seconds": 0.2}


def start_sandbox(flavor: Flavor, **overrides: object) -> ThreadedSandbox:
    options: dict[str, object] = {**FAST, **overrides}
    sandbox = ThreadedSandbox(SandboxConfig(flavor=flavor, **options))  # type: ignore[arg-type]
    sandbox.start()
    return sandbox


@pytest.fixture(params=list(Flavor), ids=lambda f: f.value)
def sandbox(request: pytest.FixtureRequest) -> Iterator[ThreadedSandbox]:
    """A fresh sandbox of each flavor: tests using it run once per kind of server."""
    server = start_sandbox(request.param)
    yield server
    server.stop()


@pytest.fixture
def cloud_sandbox() -> Iterator[ThreadedSandbox]:
    server = start_sandbox(Flavor.CLOUD)
    yield server
    server.stop()


@pytest.fixture
def fileimport_sandbox() -> Iterator[ThreadedSandbox]:
    server = start_sandbox(Flavor.FILE_IMPORT)
    yield server
    server.stop()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keychain for the test, the previous one put back afterwards."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def token() -> str:
    return DEMO_TOKEN


@pytest.fixture
def sample_ifc(tmp_path: Path) -> Path:
    target = tmp_path / "simple-wall.ifc"
    shutil.copy(SAMPLES / "simple-wall.ifc", target)
    return target


def project_id(server: ThreadedSandbox, name: str = "Riverside Library") -> str:
    return next(p.id for p in server.sandbox.store.projects.values() if p.name == name)


def write(path: Path, content: bytes | str) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def big_ifc(path: Path, size: int) -> Path:
    """A valid IFC file of about ``size`` bytes: the sample, padded with a STEP comment inside DATA."""
    text = (SAMPLES / "simple-wall.ifc").read_bytes()
    head, tail = text.split(b"ENDSEC;\nEND-ISO-10303-21;")
    padding = max(0, size - len(text) - 6)
    path.write_bytes(head + b"/*" + b" " * padding + b"*/\n" + b"ENDSEC;\nEND-ISO-10303-21;" + tail)
    return path


async def open_engine(server: ThreadedSandbox, *, token: str = DEMO_TOKEN, history: JobHistory | Path | None = None,
                      restore: bool = True, proxy: str | None = None, **settings: object) -> Workspace:
    """Sign in to a sandbox and assemble the engine the one way the app does (``jobs.workspace``). Without
    ``live=True`` statuses are polled, as most tests want; close it with ``await workspace.close()``."""
    options: dict[str, object] = {"live": False, **settings}
    return await Workspace.open(server.url, token, settings=EngineSettings(**options),  # type: ignore[arg-type]
                                history=history, restore=restore, proxy=proxy)


async def wait_until(condition: Callable[[], bool], limit: float = 30.0, what: str = "the condition") -> None:
    """Poll ``condition`` until it holds; fail (never hang) after ``limit`` seconds."""
    try:
        async with asyncio.timeout(limit):
            while not condition():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out after {limit} s waiting for {what}") from None


async def finished(workspace: Workspace, limit: float = 60.0) -> list[Job]:
    """Wait for every job of ``workspace`` to end, within ``limit`` seconds (a regression fails, never hangs)."""
    async with asyncio.timeout(limit):
        return await workspace.queue.wait()
