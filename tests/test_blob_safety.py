"""Issue 14, items 4 and 5: what a (hostile) Speckle server can make the blob PUT do.

No cookie and no header the app did not choose reaches blob storage; the PUT never goes to a link-local or
metadata address, a refused scheme or a plain-HTTP downgrade; a header value with a line break fails at
once; the store's answer has a deadline after the last byte. Each refusal is one sentence, never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpcore
import httpx
import pytest

from speckle_uploader.jobs import JobState, RetryPolicy
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.sandbox.server import Fault
from speckle_uploader.speckle.blob import put_blob
from speckle_uploader.speckle.blob_safety import BlobRules, VettingBackend, blob_client
from speckle_uploader.speckle.errors import ServerUnreachableError, SpeckleError, UnsafeBlobRequestError
from tests.conftest import finished, open_engine, project_id

SERVER = "https://speckle.example.com"


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.ifc"
    path.write_bytes(b"ISO-10303-21;" * 1000)
    return path


class Recorder:
    """A blob store that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return httpx.Response(201, headers={"ETag": '"0x8DC8E2B5A3F1C22"'})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


async def refused(url: str, data_file: Path, *, headers: dict[str, str] | None = None,
                  rules: BlobRules = BlobRules(SERVER)) -> tuple[SpeckleError, Recorder]:
    store = Recorder()
    async with store.client() as client:
        with pytest.raises(UnsafeBlobRequestError) as caught:
            await put_blob(client, url, data_file, data_file.stat().st_size, headers=headers, rules=rules)
    return caught.value, store


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/blob?sig=x",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/x",
    "http://[fe80::1]/x",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://Metadata.Google.Internal./computeMetadata/v1/",
    "http://100.100.100.200/latest/meta-data/",
    "http://0.0.0.0:8080/x",
])
@pytest.mark.asyncio
async def test_metadata_and_link_local_addresses_are_refused(url: str, data_file: Path) -> None:
    error, store = await refused(url, data_file, rules=BlobRules("http://speckle.lan"))
    assert not error.retryable
    assert "link-local or cloud metadata address" in str(error)
    assert store.requests == []


@pytest.mark.parametrize(("url", "scheme"), [
    ("file:///etc/passwd", "file"),
    ("ftp://files.example.com/upload", "ftp"),
    ("data:text/plain,hello", "data"),
    ("//blobs.example.com/x", "no"),
])
@pytest.mark.asyncio
async def test_refused_schemes_fail_at_once_with_a_sentence(url: str, scheme: str, data_file: Path) -> None:
    error, store = await refused(url, data_file)
    assert str(error).startswith(f"The server handed out an upload address with {scheme} scheme")
    assert "broke off" not in str(error)
    assert not error.retryable and store.requests == []


@pytest.mark.parametrize("headers", [
    {"x-ms-blob-type": "BlockBlob\r\nX-Injected: yes"},
    {"x-ms-meta-a": "a\nb"},
    {"x-evil\r\nX-Injected": "yes"},
])
@pytest.mark.asyncio
async def test_header_with_line_break_fails_at_once(headers: dict[str, str], data_file: Path) -> None:
    error, store = await refused("https://blobs.example.com/c/f?sv=2021-08-06&sig=x", data_file, headers=headers)
    assert "line break" in str(error) and not error.retryable
    assert store.requests == []


@pytest.mark.asyncio
async def test_header_that_is_not_text_fails_at_once(data_file: Path) -> None:
    error, store = await refused("https://blobs.example.com/c/f?sig=x", data_file,
                                 headers={"x-ms-blob-type": 5})  # type: ignore[dict-item]
    assert "not text" in str(error) and store.requests == []


@pytest.mark.asyncio
async def test_https_server_may_not_downgrade_the_upload_to_plain_http(data_file: Path) -> None:
    error, store = await refused("http://blobs.example.com/c/f?sig=x", data_file, rules=BlobRules(SERVER))
    assert str(error).startswith("speckle.example.com is reached over HTTPS but handed out a plain-HTTP upload address")
    assert store.requests == []


@pytest.mark.parametrize("rules", [
    BlobRules("https://127.0.0.1:3000"),  # the server is on this computer
    BlobRules("https://localhost"),
    BlobRules(SERVER, allow_plain_http=True),  # the user allowed it for this server
    BlobRules("http://speckle.lan"),  # the server itself is plain HTTP: nothing is downgraded
])
@pytest.mark.asyncio
async def test_plain_http_upload_where_it_is_no_downgrade(rules: BlobRules, data_file: Path) -> None:
    store = Recorder()
    async with store.client() as client:
        receipt = await put_blob(client, "http://10.0.0.5:9000/c/f?sig=x", data_file, data_file.stat().st_size,
                                 rules=rules)
    assert receipt.etag == '"0x8DC8E2B5A3F1C22"' and len(store.requests) == 1


@pytest.mark.asyncio
async def test_only_chosen_headers_reach_blob_storage(data_file: Path) -> None:
    store = Recorder()
    extra = {"x-ms-blob-type": "BlockBlob", "Host": "attacker.example", "Authorization": "Bearer leak",
             "Cookie": "session=stolen", "Content-Length": "1", "Transfer-Encoding": "chunked",
             "Proxy-Authorization": "Basic x", "Connection": "upgrade"}
    async with store.client() as client:
        await put_blob(client, "https://blobs.example.com/c/f?sig=x&sv=2021-08-06", data_file,
                       data_file.stat().st_size, headers=extra, rules=BlobRules(SERVER))
    sent = store.requests[0].headers
    assert sent["x-ms-blob-type"] == "BlockBlob"
    assert sent["host"] == "blobs.example.com"
    assert sent["content-length"] == str(data_file.stat().st_size)
    for name in ("authorization", "cookie", "transfer-encoding", "proxy-authorization"):
        assert name not in sent
    assert sent.get("connection") != "upgrade"


@pytest.mark.asyncio
async def test_cookie_set_by_the_speckle_server_never_reaches_blob_storage(cloud_sandbox: ThreadedSandbox,
                                                                          sample_ifc: Path) -> None:
    """The sandbox's first answer sets a cookie (as a load balancer would); the PUT to blob storage on the same
    host must not carry it, while the Speckle requests may."""
    user = {"data": {"activeUser": {"id": "d3m0us3r01", "name": "Alex Morgan", "email": None, "avatar": None}}}
    cloud_sandbox.call(cloud_sandbox.sandbox.faults.append, Fault(
        "/graphql", 200, json.dumps(user), method="POST",
        headers={"Content-Type": "application/json", "Set-Cookie": "speckle_session=secret-cookie; Path=/"}))
    workspace = await open_engine(cloud_sandbox, retry=RetryPolicy(attempts=1))
    workspace.queue.add(sample_ifc, project_id(cloud_sandbox), "cookies")
    [job] = await finished(workspace)
    await workspace.close()
    assert job.state is JobState.SUCCESS, job.message
    records = cloud_sandbox.call(list, cloud_sandbox.sandbox.requests)
    puts = [r for r in records if r.method == "PUT"]
    assert len(puts) == 1
    assert not any(name.lower() == "cookie" for name in puts[0].headers)
    graphql = [r for r in records if r.path == "/graphql"][1:]
    assert any("secret-cookie" in r.headers.get("Cookie", "") for r in graphql)  # the jar works for Speckle


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/"])
@pytest.mark.asyncio
async def test_the_queue_does_not_retry_a_refused_address(cloud_sandbox: ThreadedSandbox, sample_ifc: Path,
                                                          url: str) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox, "sign_url", lambda project, blob: url)
    workspace = await open_engine(cloud_sandbox, retry=RetryPolicy(attempts=5, base_delay=30))
    messages: list[str] = []
    workspace.queue.subscribe(lambda event, job: messages.append(job.message))
    workspace.queue.add(sample_ifc, project_id(cloud_sandbox), "refused")
    [job] = await finished(workspace, limit=20)  # a retry would wait 30 s first
    await workspace.close()
    assert job.state is JobState.FAILED and job.attempt == 1
    assert job.message.startswith("The server handed out an upload address")
    assert not any("Retrying" in m for m in messages)


@pytest.mark.asyncio
async def test_a_name_that_resolves_to_a_metadata_address_is_refused_when_connecting(data_file: Path) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["169.254.169.254"] if host == "blobs.rebound.example" else ["127.0.0.1"]

    async with blob_client(resolve=resolve) as client:
        with pytest.raises(UnsafeBlobRequestError, match=r"leads to 169\.254\.169\.254"):
            await put_blob(client, "http://blobs.rebound.example/c/f", data_file, data_file.stat().st_size,
                           rules=BlobRules("http://speckle.lan"))


@pytest.mark.asyncio
async def test_vetting_backend_connects_to_the_vetted_address() -> None:
    seen: list[str] = []

    class Inner(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
                              local_address: str | None = None,
                              socket_options: object = None) -> httpcore.AsyncNetworkStream:
            seen.append(host)
            raise httpcore.ConnectError("refused")

    async def resolve(host: str, port: int) -> list[str]:
        return ["192.0.2.7", "192.0.2.8"]

    with pytest.raises(httpcore.ConnectError):
        await VettingBackend(Inner(), resolve).connect_tcp("blobs.example.com", 443, timeout=5)
    assert seen == ["192.0.2.7", "192.0.2.8"]


@contextlib.asynccontextmanager
async def stalling_store(first_words: bytes = b"") -> AsyncIterator[str]:
    """A loopback 'store' that reads the whole PUT, says ``first_words`` (if any), then nothing more."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        writer.write(first_words)
        await writer.drain()
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/c/f?sig=x"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


@pytest.mark.parametrize("first_words", [
    b"",  # silence after the last byte
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 100000\r\n\r\n<Error><Code>",  # an answer that never ends
], ids=["silent", "dripping"])
@pytest.mark.asyncio
async def test_the_answer_after_the_last_byte_has_a_deadline(data_file: Path, first_words: bytes) -> None:
    async with stalling_store(first_words) as url, blob_client() as client, asyncio.timeout(30):
        with pytest.raises(ServerUnreachableError, match="received the file but did not finish answering within"):
            await put_blob(client, url, data_file, data_file.stat().st_size, answer_deadline=0.3,
                           rules=BlobRules("http://127.0.0.1"))
