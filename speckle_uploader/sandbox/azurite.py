"""Azurite, Microsoft's Azure Storage emulator, for the sandbox's ``--blob azure``, the tests and the benchmark.

Installed once from the npm registry, at a pinned version, into a cache folder outside the repository
(``~/.cache/speckle-uploader-azurite/<version>``, or ``$SPECKLE_UPLOADER_AZURITE_CACHE``), and started on
loopback on a free port with its telemetry off, accepting any storage API version, keeping blobs in memory
(or in a temporary folder, for files larger than memory should hold).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speckle_uploader.sandbox.store import SandboxConfig

AZURITE_VERSION = "3.37.0"
_LISTENING = re.compile(r"Azurite Blob service successfully listens on (http://\S+)")


class AzuriteUnavailableError(RuntimeError):
    """Azurite cannot be installed or started here; the sentence says why. ``outside``: for a reason outside
    the project (no Node.js, the npm registry unreachable), where a test suite skips rather than fails."""

    def __init__(self, message: str, *, outside: bool = False) -> None:
        super().__init__(message)
        self.outside = outside


# npm's words for a registry it cannot reach
_NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
                             r"network|socket hang up|self.signed certificate|UNABLE_TO_GET_ISSUER", re.IGNORECASE)


def cache_dir(version: str = AZURITE_VERSION) -> Path:
    base = os.environ.get("SPECKLE_UPLOADER_AZURITE_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "speckle-uploader-azurite"
    return root / version


def executable(folder: Path) -> Path:
    name = "azurite-blob.cmd" if sys.platform == "win32" else "azurite-blob"
    return folder / "node_modules" / ".bin" / name


def install(version: str = AZURITE_VERSION, timeout: float = 900.0) -> Path:
    """The ``azurite-blob`` program, installed with npm first if it is not in the cache yet."""
    folder = cache_dir(version)
    program = executable(folder)
    if program.exists():
        return program
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise AzuriteUnavailableError("Node.js and npm are not installed, so Azurite (the Azure Storage emulator) "
                                      "cannot be installed", outside=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=folder.parent))
    try:
        result = subprocess.run(
            [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--no-save",
             "--loglevel=error", f"azurite@{version}"],
            capture_output=True, text=True, timeout=timeout, check=False, cwd=staging,
        )
        if result.returncode != 0:
            said = (result.stderr or result.stdout).strip()
            raise AzuriteUnavailableError(f"npm could not install azurite@{version}: {said[-600:]}",
                                          outside=bool(_NETWORK_ERRORS.search(said)))
        if not executable(staging).exists():
            raise AzuriteUnavailableError(f"npm installed azurite@{version} but it has no azurite-blob program")
        try:
            staging.rename(folder)  # whole or not at all: a cut install is never taken for a good one
        except OSError:
            if not program.exists():  # not another process's install that won the race
                raise
    except subprocess.TimeoutExpired as exc:
        raise AzuriteUnavailableError(f"npm did not install azurite@{version} within {timeout:.0f} s (is the npm "
                                      "registry reachable?)", outside=True) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return program


class Azurite:
    """``with Azurite() as azurite: azurite.endpoint`` -> ``http://127.0.0.1:PORT/devstoreaccount1``."""

    def __init__(self, *, in_memory: bool = True, memory_limit_mb: int = 1024, version: str = AZURITE_VERSION,
                 start_timeout: float = 60.0) -> None:
        self.in_memory = in_memory
        self.memory_limit_mb = memory_limit_mb
        self.version = version
        self.start_timeout = start_timeout
        self.url = ""
        self.log: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._workspace: tempfile.TemporaryDirectory[str] | None = None

    @property
    def endpoint(self) -> str:
        from speckle_uploader.sandbox.azure import DEV_ACCOUNT

        return f"{self.url}/{DEV_ACCOUNT}"

    def start(self) -> str:
        program = install(self.version)
        self._workspace = tempfile.TemporaryDirectory(prefix="speckle-azurite-")
        args = [str(program), "--blobHost", "127.0.0.1", "--blobPort", "0", "--disableTelemetry",
                "--skipApiVersionCheck"]
        if self.in_memory:
            args += ["--inMemoryPersistence", "--extentMemoryLimit", str(self.memory_limit_mb)]
        else:
            args += ["--location", self._workspace.name]
        self._process = subprocess.Popen(args, cwd=self._workspace.name, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        found = threading.Event()

        def read() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:  # read to the end, so Azurite never blocks on a full pipe
                if len(self.log) < 2000:
                    self.log.append(line.rstrip())
                match = _LISTENING.search(line)
                if match and not found.is_set():
                    self.url = match.group(1).rstrip("/")
                    found.set()
            found.set()

        threading.Thread(target=read, name="azurite-output", daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while not found.wait(0.2) and time.monotonic() < deadline:
            pass
        if not self.url:
            output = "\n".join(self.log[-10:])
            self.stop()
            raise AzuriteUnavailableError(f"Azurite did not start within {self.start_timeout:.0f} s:\n{output}")
        return self.url

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._workspace is not None:
            self._workspace.cleanup()
            self._workspace = None

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_for_sandbox(config: SandboxConfig) -> Azurite:
    """``sandbox --blob azure``: Azurite on loopback (blobs in a temporary folder), the sandbox handing out
    SAS links to it with ``x-ms-blob-type``."""
    from speckle_uploader.sandbox.azure import AzureBlobs

    azurite = Azurite(in_memory=False)
    azurite.start()
    config.azure = AzureBlobs(azurite.endpoint)
    return azurite
