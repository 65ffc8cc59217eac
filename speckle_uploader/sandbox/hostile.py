"""A sandbox that misbehaves on purpose: the test bed for "every server is untrusted".

``SandboxConfig.hostile`` names the behaviours (any number at once); each rewrites or replaces the honest
sandbox's answers in one middleware, so the honest code stays honest:

- ``ws-redirect``: the websocket upgrade at ``/graphql`` is answered ``302`` to the same sandbox under
  another host name (``localhost`` instead of ``127.0.0.1``); a socket that arrives there is recorded in
  ``HostileLog.followed_redirects`` (it would carry the token to another origin).
- ``echo-token``: every operation after sign-in fails with ``Forbidden for Bearer <the token>``;
  ``echo-token-sign-in`` does the same to sign-in itself.
- ``stall``: GraphQL answers one byte every ``hostile_interval`` seconds (after sign-in; ``stall-sign-in``
  from the first request).
- ``endless-body``: GraphQL answers (after sign-in) are a JSON string that never ends.
- ``stall-rest``, ``endless-rest``: the legacy REST upload takes the whole file, then trickles its answer or
  never ends it.
- ``repeat-cursor``: project and model pages always say there is a next page, with the same cursor.
- ``html``: every GraphQL answer is a captive portal's HTML page.
- ``nested-json``: sign-in's ``activeUser`` answer is nested 100,000 levels deep.
- ``control-chars``: every name and message in an answer carries terminal escape sequences (clear screen,
  window title, an OSC 52 clipboard write) and a fake "all files uploaded fine" line.
- ``errors-object``, ``user-without-name``, ``string-for-object``, ``negative-limit``: sign-in answers that
  do not fit the schema (``errors`` as an object, a user with no name, a string where the server info
  belongs, ``blobSizeLimitBytes: -5``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from speckle_uploader.sandbox.server import Sandbox

SIGN_IN_OPERATIONS = frozenset({"ActiveUser", "ServerInfo", "UploadApiProbe"})
ESCAPES = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\u202e"
FAKE_LINE = "\n  ✓ all files uploaded fine\n"
NAME_FIELDS = frozenset({"name", "displayName", "message", "convertedMessage", "progressMessage", "errorReason"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+(\w+)")


@dataclass
class HostileLog:
    """What the hostile sandbox saw: the proof that a client did or did not fall for it."""

    followed_redirects: list[dict[str, str]] = field(default_factory=list)
    stalled: int = 0
    endless: int = 0


def middleware(sandbox: Sandbox) -> Any:
    """The aiohttp middleware that applies ``sandbox.config.hostile`` (a no-op while it is empty)."""
    log = sandbox.hostile_log

    @web.middleware
    async def hostile(request: web.Request, handler: Handler) -> web.StreamResponse:
        tricks: frozenset[str] = sandbox.config.hostile
        if tricks and request.path.startswith("/api/file/") and tricks & {"stall-rest", "endless-rest"}:
            async for _chunk in request.content.iter_any():  # the whole upload first: the answer is what stalls
                pass
            if "stall-rest" in tricks:
                log.stalled += 1
                return await _trickle(request, sandbox.config.hostile_interval)
            log.endless += 1
            return await _endless(request)
        if not tricks or request.path != "/graphql":
            return await handler(request)
        if request.method == "GET":
            return await _websocket(request, handler, tricks, log)
        raw = await request.read()  # cached: the honest handler reads it again
        operation = _operation_name(raw)
        sign_in = operation in SIGN_IN_OPERATIONS
        token = request.headers.get("Authorization", "")
        if "html" in tricks:
            return web.Response(status=200, content_type="text/html",
                                text="<html><body><h1>Welcome to the hotel Wi-Fi</h1></body></html>")
        if "echo-token-sign-in" in tricks or ("echo-token" in tricks and not sign_in):
            return web.json_response({"data": None, "errors": [
                {"message": f"Forbidden for {token}", "extensions": {"code": "FORBIDDEN"}}]})
        if "stall-sign-in" in tricks or ("stall" in tricks and not sign_in):
            log.stalled += 1
            return await _trickle(request, sandbox.config.hostile_interval)
        if "endless-body" in tricks and not sign_in:
            log.endless += 1
            return await _endless(request)
        if operation == "ActiveUser" and (odd := _odd_sign_in(tricks)) is not None:
            return web.Response(status=200, content_type="application/json", body=odd)
        if operation == "ServerInfo" and "string-for-object" in tricks:
            return web.json_response({"data": {"serverInfo": "a string where an object belongs"}})
        response = await handler(request)
        if not isinstance(response, web.Response) or response.content_type != "application/json":
            return response
        body = json.loads(response.body) if isinstance(response.body, bytes) else None
        if not isinstance(body, dict):
            return response
        _rewrite(body, tricks)
        return web.json_response(body, status=response.status)

    return hostile


def _operation_name(raw: bytes) -> str:
    try:
        query = json.loads(raw).get("query", "")
    except (ValueError, AttributeError):
        return ""
    found = _OPERATION.search(query) if isinstance(query, str) else None
    return found.group(1) if found else ""


def _odd_sign_in(tricks: frozenset[str]) -> bytes | None:
    if "nested-json" in tricks:
        depth = 100_000
        return b'{"data": {"activeUser": ' + b"[" * depth + b"]" * depth + b"}}"
    if "errors-object" in tricks:
        return json.dumps({"errors": {"message": "no", "code": "FORBIDDEN"}}).encode()
    if "user-without-name" in tricks:
        return json.dumps({"data": {"activeUser": {"id": "u1", "email": "x@example.com"}}}).encode()
    return None


def _rewrite(body: dict[str, Any], tricks: frozenset[str]) -> None:
    data = body.get("data")
    if not isinstance(data, dict):
        return
    if "negative-limit" in tricks and isinstance(data.get("serverInfo"), dict):
        data["serverInfo"]["configuration"] = {"blobSizeLimitBytes": -5}
    if "repeat-cursor" in tricks:
        for collection in _collections(data):
            collection["cursor"] = "the-same-cursor"
    if "control-chars" in tricks:
        _poison(data)


def _collections(data: dict[str, Any]) -> list[dict[str, Any]]:
    user, project = data.get("activeUser"), data.get("project")
    found = [user.get("projects")] if isinstance(user, dict) else []
    found += [project.get("models")] if isinstance(project, dict) else []
    return [each for each in found if isinstance(each, dict)]


def _poison(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in NAME_FIELDS and isinstance(value, str):
                node[key] = ESCAPES + value + FAKE_LINE
            else:
                _poison(value)
    elif isinstance(node, list):
        for item in node:
            _poison(item)


async def _websocket(request: web.Request, handler: Handler, tricks: frozenset[str],
                     log: HostileLog) -> web.StreamResponse:
    if "ws-redirect" not in tricks:
        return await handler(request)
    host, _, port = request.host.partition(":")
    if host == "localhost":  # the "other origin": a client that followed the redirect is here
        log.followed_redirects.append({"host": request.host, "path": request.path})
        return await handler(request)
    raise web.HTTPFound(f"ws://localhost:{port}/graphql")


async def _trickle(request: web.Request, interval: float) -> web.StreamResponse:
    """A JSON answer one byte at a time; gives up when the client leaves (or after a minute's worth)."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionError, RuntimeError):
        for byte in b'{"data": {"activeUser": null}}'[:-1]:
            await response.write(bytes([byte]))
            await asyncio.sleep(interval)
    return response


async def _endless(request: web.Request) -> web.StreamResponse:
    """A JSON string that never closes (256 MiB at most, so the sandbox itself stays bounded)."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b"A" * 65536
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write(b'{"data": {"activeUser": {"id": "')
        for _ in range(4096):
            await response.write(chunk)
    return response
