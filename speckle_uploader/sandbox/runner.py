"""Start the sandbox on loopback: in the running event loop, or in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from speckle_uploader.sandbox.server import Sandbox
from speckle_uploader.sandbox.store import DEMO_TOKEN, SandboxConfig

T = TypeVar("T")


class SandboxServer:
    """``async with SandboxServer(config) as server: server.url``"""

    def __init__(self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 data_dir: Path | None = None) -> None:
        self.sandbox = Sandbox(config, data_dir)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self.token = DEMO_TOKEN

    @property
    def url(self) -> str:
        return self.sandbox.base_url

    async def start(self) -> str:
        self._runner = web.AppRunner(self.sandbox.app, access_log=None, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.sandbox.base_url = f"http://{host}:{port}"
        return self.url

    async def pause(self) -> None:
        """Go offline (stop listening, cut every connection) but keep all state: "the server is down"."""
        assert self._runner is not None
        for site in list(self._runner.sites):
            await site.stop()
        await self.sandbox.drop_websockets()
        server = self._runner.server
        if server is not None:
            for connection in list(server.connections):
                connection.force_close()

    async def resume(self) -> None:
        """Back online on the same address."""
        assert self._runner is not None
        port = int(self.url.rsplit(":", 1)[1])
        await web.TCPSite(self._runner, self.host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ThreadedSandbox:
    """The sandbox on its own event loop in a daemon thread (tests, benchmarks, the demo window)."""

    def __init__(self, config: SandboxConfig | None = None, **kwargs: object) -> None:
        self.server = SandboxServer(config, **kwargs)  # type: ignore[arg-type]
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="speckle-sandbox", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    def start(self) -> str:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=30)

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` on the sandbox's loop (to change its state safely) and return the result."""

        async def run() -> T:
            return func(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def wait(self) -> None:
        """Block until the sandbox stops (Ctrl-C in the foreground)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> ThreadedSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
