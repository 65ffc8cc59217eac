"""Live updates from a Speckle server over one websocket, in the protocol Speckle really speaks:
subscriptions-transport-ws, sub-protocol ``graphql-ws`` (not the newer graphql-transport-ws).

The token goes in the ``connection_init`` payload, so the socket never follows a redirect: the websockets
client follows them by default (cross-origin too, stripping only headers), and a ``302`` to another host
would receive our ``connection_init``. A redirect is a refused connection; polling carries on.

Keep-alives (``ka``) are expected every 30 s; a silent
socket is dropped and reconnected with exponential backoff and jitter, and every subscription is started
again on the new socket. Callers keep polling as the fallback: ``connected`` says when they can relax.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from speckle_uploader.speckle.http import tls_context

log = logging.getLogger(__name__)


class RedirectRefusedError(ConnectionError):
    pass


class _connect_without_redirects(connect):  # noqa: N801 (used as ``connect`` is: a class that reads as a call)
    """``websockets``' ``connect`` that treats every redirect as a refusal instead of following it."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        followed = super().process_redirect(exc)
        if isinstance(followed, str):
            return RedirectRefusedError(f"the server redirected live updates elsewhere ({followed.split('?')[0]}); "
                                        "not followed")
        return followed

DataCallback = Callable[[dict[str, Any]], None]


class SubscriptionClient:
    def __init__(self, server_url: str, token: str, *, proxy: str | None = None,
                 keepalive_timeout: float = 75.0, max_backoff: float = 30.0) -> None:
        parts = urlsplit(server_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.url = f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/graphql"
        self._token = token
        self._proxy = proxy
        self.keepalive_timeout = keepalive_timeout
        self.max_backoff = max_backoff
        self._operations: dict[str, tuple[str, dict[str, Any], DataCallback]] = {}
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.connection_listeners: list[Callable[[bool], None]] = []
        self.connects = 0  # how many times a socket was established (tests, diagnostics)

    # -- subscriptions -----------------------------------------------------------------------
    def subscribe(self, document: str, variables: dict[str, Any], callback: DataCallback) -> str:
        op_id = str(next(self._ids))
        self._operations[op_id] = (document, variables, callback)
        if self.connected:
            self._send_soon({"id": op_id, "type": "start", "payload": {"query": document, "variables": variables}})
        self._ensure_running()
        return op_id

    def unsubscribe(self, op_id: str) -> None:
        if self._operations.pop(op_id, None) is not None and self.connected:
            self._send_soon({"id": op_id, "type": "stop"})

    async def aclose(self) -> None:
        self._operations.clear()
        task, self._task = self._task, None
        ws = self._ws
        if task is not None:
            task.cancel()
            if ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), timeout=2)
            await asyncio.wait({task}, timeout=5)  # never let shutdown hang on a stuck socket
        self._set_connected(False)

    # -- the connection ----------------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="speckle-subscriptions")

    def _send_soon(self, frame: dict[str, Any]) -> None:
        ws = self._ws
        if ws is not None:
            asyncio.get_running_loop().create_task(self._send(ws, frame))

    @staticmethod
    async def _send(ws: ClientConnection, frame: dict[str, Any]) -> None:
        with contextlib.suppress(WebSocketException, OSError):
            await ws.send(json.dumps(frame))

    def _set_connected(self, up: bool) -> None:
        if up == self.connected:
            return
        self.connected = up
        for listener in list(self.connection_listeners):
            try:
                listener(up)
            except Exception:
                log.exception("subscription connection listener failed")

    async def _run(self) -> None:
        failures = 0
        while self._operations:
            try:
                await self._session()
                failures = 0  # a session that ended after working: reconnect promptly
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, dropped, silent: fall back to polling and try again later
                failures += 1
                log.info("live updates unavailable (%s); polling meanwhile", exc or type(exc).__name__)
            finally:
                self._ws = None
                self._set_connected(False)
            delay = min(self.max_backoff, 0.5 * 2 ** min(failures, 10)) * (1 + random.random() / 2)
            await asyncio.sleep(delay if failures else 0.2)

    async def _session(self) -> None:
        ssl = tls_context() if self.url.startswith("wss:") else None
        async with _connect_without_redirects(self.url, subprotocols=["graphql-ws"], ssl=ssl,  # type: ignore[list-item]
                           proxy=self._proxy if self._proxy else True, open_timeout=15, ping_interval=None,
                           max_size=16 * 1024 * 1024) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {self._token}"}}))
            async with asyncio.timeout(15):
                ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise ConnectionError(f"the server refused live updates: {ack.get('payload') or ack.get('type')}")
            self._ws = ws
            self.connects += 1
            for op_id, (document, variables, _callback) in list(self._operations.items()):
                await ws.send(json.dumps({"id": op_id, "type": "start",
                                          "payload": {"query": document, "variables": variables}}))
            self._set_connected(True)
            while self._operations:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation.
                async with asyncio.timeout(self.keepalive_timeout):
                    raw = await ws.recv()
                self._dispatch(json.loads(raw))

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        operation = self._operations.get(str(frame.get("id")))
        if kind == "data" and operation is not None:
            data = (frame.get("payload") or {}).get("data")
            if isinstance(data, dict):
                try:
                    operation[2](data)
                except Exception:
                    log.exception("subscription callback failed")
        elif kind == "error":
            log.warning("subscription %s refused: %s", frame.get("id"), frame.get("payload"))
        elif kind == "connection_error":
            raise ConnectionError(f"the server ended live updates: {frame.get('payload')}")
