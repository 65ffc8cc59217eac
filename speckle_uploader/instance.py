"""One window per user: a second launch (``speckle-uploader FILE…`` from "Open with", a file association, a
script) hands its files to the running window and exits, instead of opening a second window that writes the
same history. If no window answers (none running, or a socket left by a crash), the launch becomes the
running window itself: files are never dropped.

Plain asyncio and a Unix-domain socket in the user's data folder, readable by this user only (0600), so the
bundle needs no QtNetwork (it would not fit the bundle's size budget). On Windows, where Python's asyncio has
no Unix sockets on the app's event loop, every launch opens its own window, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from speckle_uploader.app_dirs import data_dir

log = logging.getLogger(__name__)

MAX_MESSAGE = 1024 * 1024  # a few thousand paths; anything longer is not ours
TIMEOUT = 5.0
SUPPORTED = sys.platform != "win32" and hasattr(socket, "AF_UNIX")


def socket_path() -> Path:
    return data_dir() / "instance.sock"


def hand_over(files: list[Path], path: Path | None = None) -> bool:
    """Give ``files`` (and "come to the front") to a running window. True once it confirmed; False when no
    window answered, and this launch should become the window. Blocking: runs before the event loop."""
    if not SUPPORTED:
        return False
    path = path or socket_path()
    message = json.dumps({"files": [str(file.absolute()) for file in files]}).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(TIMEOUT)
            client.connect(str(path))
            client.sendall(message)
            answer = client.makefile("rb").readline(16)
    except OSError:
        return False
    return answer.startswith(b"ok")


class InstanceServer:
    """Listens for later launches; ``on_files`` gets their files (possibly none: "come to the front")."""

    def __init__(self, on_files: Callable[[list[Path]], None], path: Path | None = None) -> None:
        self.on_files = on_files
        self.path = path or socket_path()
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> bool:
        """Start listening; False (and a log line) where that is not possible."""
        if not SUPPORTED:
            return False
        if self.path.exists() or self.path.is_symlink():
            # hand_over() found nobody answering there: a crashed window's socket.
            with contextlib.suppress(OSError):
                self.path.unlink()
        old_umask = os.umask(0o077)  # the socket is born readable by this user only
        try:
            self._server = await asyncio.start_unix_server(self._serve, str(self.path), limit=MAX_MESSAGE)
        except OSError as exc:
            log.warning("cannot listen for other launches at %s: %s", self.path, exc)
            return False
        finally:
            os.umask(old_umask)
        return True

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), TIMEOUT)
            self._server = None
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)
            files = [Path(item) for item in json.loads(line)["files"] if isinstance(item, str)]
        except (TimeoutError, ValueError, KeyError, TypeError, OSError, asyncio.LimitOverrunError):
            writer.close()
            return
        self.on_files(files)  # taken before "ok": the launch that handed them over may exit at once
        writer.write(b"ok\n")
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.drain(), TIMEOUT)
        writer.close()
