"""Azure Blob Storage beside S3 (issue 16), against Azurite, Microsoft's emulator, from the npm registry.

Azurite is installed once (pinned, into a cache folder outside the repository) and started on loopback with
its telemetry off. Without Node.js/npm, or with the npm registry out of reach, these tests skip and say so.
SAS URLs come from the sandbox (``SandboxConfig.azure``), whose signing is checked against Microsoft's SDK.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from speckle_uploader.jobs import JobQueue, JobState, RetryPolicy
from speckle_uploader.sandbox import Flavor, ThreadedSandbox
from speckle_uploader.sandbox.azure import DEV_ACCOUNT, DEV_KEY, OLD_SAS_VERSION, AzureBlobs
from speckle_uploader.sandbox.azurite import AZURITE_VERSION, Azurite, AzuriteUnavailableError
from speckle_uploader.speckle.blob import put_blob
from speckle_uploader.speckle.blob_safety import BlobRules, blob_client
from speckle_uploader.speckle.errors import (
    BlobLinkExpiredError,
    BlobStorageError,
    FileTooLargeError,
)
from tests.conftest import big_ifc, finished, open_engine, project_id, start_sandbox

MIB = 1024 * 1024
LOCAL = BlobRules("http://127.0.0.1")
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05)


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    emulator = Azurite()
    try:
        emulator.start()
    except AzuriteUnavailableError as exc:
        if exc.outside:
            pytest.skip(f"Azurite {AZURITE_VERSION} is not available here: {exc}")
        raise
    yield emulator
    emulator.stop()


@pytest.fixture
def blobs(azurite: Azurite, request: pytest.FixtureRequest) -> AzureBlobs:
    """A container of the test's own."""
    store = AzureBlobs(azurite.endpoint, container=f"t{abs(hash(request.node.nodeid)) % 10**12:012d}")
    asyncio.run(store.ensure_container())
    return store


def sdk(blobs: AzureBlobs):  # type: ignore[no-untyped-def]
    storage = pytest.importorskip("azure.storage.blob")
    service = storage.BlobServiceClient(blobs.endpoint, credential={"account_name": DEV_ACCOUNT,
                                                                    "account_key": DEV_KEY})
    return service.get_container_client(blobs.container)


def test_sas_signing_matches_microsofts_sdk() -> None:
    shared = pytest.importorskip("azure.storage.blob._shared_access_signature")
    store = AzureBlobs("http://127.0.0.1:1/devstoreaccount1", container="speckle")
    expiry = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    signer = shared.BlobSharedAccessSignature(DEV_ACCOUNT, DEV_KEY)
    signer.x_ms_version = "2021-08-06"  # the SDK signs every version the 2020-12-06 way: compare on a new one
    theirs = signer.generate_blob("speckle", "p1/b1", permission="cw", expiry=expiry)
    assert parse_qs(store.blob_sas("p1/b1", "cw", expiry, "2021-08-06")) == parse_qs(theirs)


@pytest.mark.asyncio
async def test_old_sas_version_is_signed_as_azure_checks_it(blobs: AzureBlobs, tmp_path: Path) -> None:
    """Before 2020-12-06 the string to sign has no encryption-scope line; Azurite checks it by version."""
    path = tmp_path / "old.ifc"
    path.write_bytes(b"x" * 10)
    async with blob_client() as client:
        receipt = await put_blob(client, blobs.sas_url("p/old", version=OLD_SAS_VERSION), path, 10, rules=LOCAL,
                                 headers={"x-ms-blob-type": "BlockBlob"})
    assert receipt.etag.startswith('"0x')


# -- the PUT itself, straight to Azurite ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_small_file_stored_byte_for_byte_and_checked(blobs: AzureBlobs, tmp_path: Path) -> None:
    path = tmp_path / "small.ifc"
    path.write_bytes(os.urandom(2048))
    async with blob_client() as client:
        receipt = await put_blob(client, blobs.sas_url("p/small"), path, 2048, rules=LOCAL,
                                 headers={"x-ms-blob-type": "BlockBlob"})
    stored = sdk(blobs).get_blob_client("p/small")
    assert receipt.etag == stored.get_blob_properties().etag  # verbatim, "0x..." quotes included
    assert receipt.md5 == hashlib.md5(path.read_bytes()).hexdigest()  # hashed over plain HTTP, checked
    assert stored.download_blob().readall() == path.read_bytes()


@pytest.mark.asyncio
async def test_missing_blob_type_header_says_which(blobs: AzureBlobs, tmp_path: Path) -> None:
    path = tmp_path / "a.ifc"
    path.write_bytes(b"x" * 100)
    async with blob_client() as client:
        with pytest.raises(BlobStorageError) as caught:
            await put_blob(client, blobs.sas_url("p/a"), path, 100, rules=LOCAL)
    assert str(caught.value).startswith("Blob storage needs the header x-ms-blob-type, which the server did not ask")
    assert not caught.value.retryable


@pytest.mark.asyncio
async def test_expired_sas_is_an_expired_link(blobs: AzureBlobs, tmp_path: Path) -> None:
    path = tmp_path / "a.ifc"
    path.write_bytes(b"x" * 100)
    url = blobs.sas_url("p/a", expiry=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    async with blob_client() as client:
        with pytest.raises(BlobLinkExpiredError) as caught:
            await put_blob(client, url, path, 100, rules=LOCAL, headers={"x-ms-blob-type": "BlockBlob"})
    message = str(caught.value)
    assert message.startswith("The upload link expired before the upload finished (HTTP 403, AuthorizationFailure")
    assert "Authorization header" not in message and "RequestId" not in message
    assert caught.value.retryable


@pytest.mark.asyncio
async def test_read_only_sas_fails_at_once(blobs: AzureBlobs, tmp_path: Path) -> None:
    path = tmp_path / "a.ifc"
    path.write_bytes(b"x" * 100)
    async with blob_client() as client:
        with pytest.raises(BlobStorageError) as caught:
            await put_blob(client, blobs.sas_url("p/a", permissions="r"), path, 100, rules=LOCAL,
                           headers={"x-ms-blob-type": "BlockBlob"})
    assert str(caught.value).startswith("Blob storage refused to store the file: the upload link does not allow it "
                                        "(HTTP 403, AuthorizationPermissionMismatch: This request is not authorized")
    assert "RequestId" not in str(caught.value) and "Time:" not in str(caught.value)
    assert "RequestId:" in (caught.value.server_message or "")  # the store's whole words are kept
    assert not caught.value.retryable


@pytest.mark.asyncio
async def test_over_the_put_blob_limit_of_an_old_sas_is_refused_before_sending(blobs: AzureBlobs,
                                                                                tmp_path: Path) -> None:
    path = tmp_path / "huge.ifc"
    with path.open("wb") as handle:
        handle.truncate(256 * MIB + 1)  # sparse: nothing is written
    url = blobs.sas_url("p/huge", version=OLD_SAS_VERSION)
    async with blob_client() as client:
        with pytest.raises(FileTooLargeError, match="at most 256 MiB in one upload"):
            await put_blob(client, url, path, 256 * MIB + 1, rules=LOCAL, headers={"x-ms-blob-type": "BlockBlob"})
    assert not sdk(blobs).get_blob_client("p/huge").exists()


# -- through the cloud backend, the sandbox handing out Azure links -----------------------------------------


@pytest.fixture
def azure_sandbox(blobs: AzureBlobs) -> Iterator[ThreadedSandbox]:
    server = start_sandbox(Flavor.CLOUD, azure=blobs, blob_size_limit_bytes=2047 * MIB)
    yield server
    server.stop()


async def upload(server: ThreadedSandbox, path: Path, *, retry: RetryPolicy = FAST_RETRY) -> tuple[JobQueue, list[str]]:
    workspace = await open_engine(server, retry=retry)
    messages: list[str] = []
    workspace.queue.subscribe(lambda event, job: messages.append(job.message))
    workspace.queue.add(path, project_id(server), "azure")
    await finished(workspace, limit=120)
    await workspace.close()
    return workspace.queue, messages


def stored_blob(server: ThreadedSandbox, blobs: AzureBlobs, file_id: str | None) -> bytes:
    assert file_id
    return bytes(sdk(blobs).get_blob_client(f"{project_id(server)}/{file_id}").download_blob().readall())


@pytest.mark.parametrize("size", [2 * 1024, 40 * MIB], ids=["2KiB", "40MiB"])
@pytest.mark.asyncio
async def test_cloud_upload_to_azure_end_to_end(azure_sandbox: ThreadedSandbox, blobs: AzureBlobs,
                                                tmp_path: Path, size: int) -> None:
    path = big_ifc(tmp_path / "tower.ifc", size)
    queue, _ = await upload(azure_sandbox, path)
    [job] = queue.jobs
    assert job.state is JobState.SUCCESS, job.message
    assert job.attempt == 1 and job.version_id
    assert hashlib.md5(stored_blob(azure_sandbox, blobs, job.file_id)).digest() == \
        hashlib.md5(path.read_bytes()).digest()
    puts = [r for r in azure_sandbox.call(list, azure_sandbox.sandbox.requests) if r.method == "PUT"]
    assert puts == []  # every byte went to Azure, none to the sandbox's own store


@pytest.mark.asyncio
async def test_expired_sas_gets_a_fresh_link_and_a_new_put(azure_sandbox: ThreadedSandbox, sample_ifc: Path) -> None:
    azure_sandbox.call(setattr, azure_sandbox.sandbox.config, "expire_next_urls", 1)
    queue, messages = await upload(azure_sandbox, sample_ifc)
    [job] = queue.jobs
    assert job.state is JobState.SUCCESS, job.message
    assert job.attempt == 2
    assert any(m.startswith("The upload link expired before the upload finished (HTTP 403, AuthorizationFailure)")
               for m in messages)


@pytest.mark.asyncio
async def test_read_only_sas_is_not_retried(azure_sandbox: ThreadedSandbox, blobs: AzureBlobs,
                                            sample_ifc: Path) -> None:
    blobs.permissions = "r"
    queue, _ = await upload(azure_sandbox, sample_ifc, retry=RetryPolicy(attempts=5, base_delay=30))
    [job] = queue.jobs
    assert job.state is JobState.FAILED and job.attempt == 1
    assert job.message.startswith("Blob storage refused to store the file: the upload link does not allow it")
    assert job.error_code == "AuthorizationPermissionMismatch"


@pytest.mark.asyncio
async def test_missing_header_fails_with_a_sentence(azure_sandbox: ThreadedSandbox, blobs: AzureBlobs,
                                                    sample_ifc: Path) -> None:
    blobs.blob_type_header = False
    queue, _ = await upload(azure_sandbox, sample_ifc, retry=RetryPolicy(attempts=5, base_delay=30))
    [job] = queue.jobs
    assert job.state is JobState.FAILED and job.attempt == 1
    assert job.message == ("Blob storage needs the header x-ms-blob-type, which the server did not ask us to send "
                           "(HTTP 400). The server's upload settings are incomplete.")


@pytest.mark.asyncio
async def test_over_the_size_limit_is_refused_before_sending(azure_sandbox: ThreadedSandbox, blobs: AzureBlobs,
                                                             tmp_path: Path) -> None:
    blobs.sas_version = OLD_SAS_VERSION
    path = tmp_path / "huge.ifc"
    path.write_bytes(b"ISO-10303-21;\nHEADER;\n")
    with path.open("r+b") as handle:
        handle.truncate(300 * MIB)  # sparse
    queue, _ = await upload(azure_sandbox, path, retry=RetryPolicy(attempts=5, base_delay=30))
    [job] = queue.jobs
    assert job.state is JobState.FAILED and job.attempt == 1
    assert job.message == ("huge.ifc is 300 MiB; the server's Azure blob storage takes at most 256 MiB in one upload "
                           "(its link's storage version 2019-07-07). Nothing was sent.")


SERVER_BUSY = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.\n'
               "RequestId:6c3d1f2e-0000-0000-0000-000000000000\nTime:2026-12-02T05:44:49.5560000Z</Message></Error>")


@pytest_asyncio.fixture
async def busy_front(blobs: AzureBlobs) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback front for Azurite that answers the first PUT 503 ServerBusy the Azure way, then passes on."""
    answered: list[int] = []

    async def put(request: web.Request) -> web.Response:
        body = await request.read()
        if not answered:
            answered.append(503)
            return web.Response(status=503, text=SERVER_BUSY, content_type="application/xml",
                                headers={"x-ms-error-code": "ServerBusy", "x-ms-request-id": "6c3d1f2e"})
        target = blobs.endpoint.rsplit("/", 1)[0] + request.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(("x-ms-", "content-type"))}
        async with httpx.AsyncClient() as client:
            response = await client.put(target, content=body, headers=headers)
        answered.append(response.status_code)
        keep = {k: v for k, v in response.headers.items() if k.lower() in ("etag", "content-md5", "x-ms-request-id")}
        return web.Response(status=response.status_code, body=response.content, headers=keep)

    app = web.Application(client_max_size=64 * MIB)
    app.router.add_put("/{tail:.*}", put)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/{DEV_ACCOUNT}", answered
    await runner.cleanup()


@pytest.mark.asyncio
async def test_server_busy_is_retried_with_backoff(blobs: AzureBlobs, sample_ifc: Path,
                                                   busy_front: tuple[str, list[int]]) -> None:
    front, answered = busy_front
    blobs.link_endpoint = front  # links point at the busy front; the sandbox reads back from Azurite itself
    server = start_sandbox(Flavor.CLOUD, azure=blobs)
    try:
        queue, messages = await upload(server, sample_ifc)
    finally:
        server.stop()
    [job] = queue.jobs
    assert job.state is JobState.SUCCESS, job.message
    assert answered == [503, 201] and job.attempt == 2
    busy = [m for m in messages if m.startswith("Blob storage is busy")]
    assert busy and busy[0].startswith("Blob storage is busy (HTTP 503, ServerBusy: The server is busy.). Retrying in")
    assert "RequestId" not in busy[0]
