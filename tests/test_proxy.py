"""A proxy named by the user (the sign-in dialog's Proxy field) carries every request to the server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from speckle_uploader.jobs import JobState
from speckle_uploader.sandbox import ThreadedSandbox
from tests.conftest import finished, open_engine, project_id


class ForwardProxy:
    """A minimal HTTP forward proxy (absolute-form requests, one per connection) that counts what it carries."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ")
                url = urlsplit(target)
                self.seen.append(f"{method} {url.path}")
                headers = [h for h in lines[1:] if h and not h.lower().startswith("proxy-")]
                length = next((int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")),
                              0)
                upstream_reader, upstream_writer = await asyncio.open_connection(url.hostname, url.port)
                request = f"{method} {url.path}{'?' + url.query if url.query else ''} {version}\r\n"
                upstream_writer.write((request + "\r\n".join(headers) + "\r\n\r\n").encode("latin-1"))
                remaining = length
                while remaining:
                    chunk = await reader.read(min(remaining, 1 << 20))
                    upstream_writer.write(chunk)
                    remaining -= len(chunk)
                await upstream_writer.drain()
                response_head = await upstream_reader.readuntil(b"\r\n\r\n")
                response_length = next((int(h.split(b":", 1)[1]) for h in response_head.split(b"\r\n")
                                        if h.lower().startswith(b"content-length:")), 0)
                body = await upstream_reader.readexactly(response_length)
                upstream_writer.close()
                writer.write(response_head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def start(self) -> str:
        ready = threading.Event()

        async def serve() -> None:
            server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            async with server:
                await server.serve_forever()

        threading.Thread(target=lambda: self.loop.run_until_complete(serve()), daemon=True).start()
        ready.wait(5)
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    yield ForwardProxy()


@pytest.mark.asyncio
async def test_upload_through_the_manual_proxy(fileimport_sandbox: ThreadedSandbox, sample_ifc: Path,
                                                proxy: ForwardProxy) -> None:
    proxy_url = proxy.start()
    workspace = await open_engine(fileimport_sandbox, proxy=proxy_url)
    job = workspace.queue.add(sample_ifc, project_id(fileimport_sandbox), "proxied")
    await finished(workspace, 30)
    await workspace.close()
    assert job.state is JobState.SUCCESS
    assert "POST /graphql" in proxy.seen
    assert any(line.startswith("PUT /blob/") for line in proxy.seen)  # blob storage too, and without the token
