"""The presigned PUT: streamed with a length, no token, progress, ETag verbatim and checked."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from speckle_uploader.speckle.blob import put_blob
from speckle_uploader.speckle.errors import (
    BlobStorageError,
    EtagMismatchError,
    FileProblemError,
    SpeckleError,
    UnexpectedResponseError,
)

URL = "https://blobs.example.com/bucket/assets/p/f?X-Amz-Signature=abc"
PLAIN_HTTP_URL = "http://minio.lan:9000/bucket/assets/p/f?X-Amz-Signature=abc"


def storage(handler):  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.ifc"
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    return path


@pytest.mark.asyncio
async def test_put_streams_with_length_and_no_token(data_file: Path) -> None:
    seen: dict[str, object] = {}
    md5 = hashlib.md5(data_file.read_bytes()).hexdigest()

    async def handler(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        seen.update(headers=dict(request.headers), size=len(body), md5=hashlib.md5(body).hexdigest())
        return httpx.Response(200, headers={"ETag": f'"{md5}"'})

    progress: list[int] = []
    async with storage(handler) as client:
        receipt = await put_blob(client, URL, data_file, data_file.stat().st_size,
                                 headers={"x-ms-blob-type": "BlockBlob", "Authorization": "Bearer leak"},
                                 on_progress=progress.append, chunk_size=256 * 1024)
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["content-length"] == str(data_file.stat().st_size)
    assert "transfer-encoding" not in headers
    assert "authorization" not in headers
    assert headers["x-ms-blob-type"] == "BlockBlob"
    assert seen["md5"] == md5 and seen["size"] == data_file.stat().st_size
    assert receipt.etag == f'"{md5}"'  # verbatim, quotes included
    assert progress == [256 * 1024 * i for i in range(1, 5)]


@pytest.mark.asyncio
async def test_md5_mismatch_is_caught(data_file: Path) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"ETag": '"' + "0" * 32 + '"'})

    async with storage(handler) as client:
        with pytest.raises(EtagMismatchError, match="upload again"):
            await put_blob(client, PLAIN_HTTP_URL, data_file, data_file.stat().st_size)


@pytest.mark.asyncio
async def test_plain_http_upload_is_hashed_and_checked(data_file: Path) -> None:
    md5 = hashlib.md5(data_file.read_bytes()).hexdigest()

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"ETag": f'"{md5}"'})

    async with storage(handler) as client:
        receipt = await put_blob(client, PLAIN_HTTP_URL, data_file, data_file.stat().st_size)
    assert receipt.md5 == md5


@pytest.mark.asyncio
async def test_https_upload_trusts_tls_and_accepts_kms_style_etag(data_file: Path) -> None:
    # An SSE-KMS bucket answers 32 hex digits that are not the MD5 of the bytes; TLS already vouches for them.
    kms_etag = '"' + "ab" * 16 + '"'

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"ETag": kms_etag})

    async with storage(handler) as client:
        receipt = await put_blob(client, URL, data_file, data_file.stat().st_size)
    assert receipt.etag == kms_etag and receipt.md5 is None
    async with storage(handler) as client:
        with pytest.raises(EtagMismatchError):  # the check can still be asked for explicitly
            await put_blob(client, URL, data_file, data_file.stat().st_size, verify_md5=True)


@pytest.mark.asyncio
async def test_non_md5_etag_kept_verbatim(data_file: Path) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(201, headers={"ETag": '"0x8DC8E2B5A3F1C22"'})  # Azure style

    async with storage(handler) as client:
        receipt = await put_blob(client, URL, data_file, data_file.stat().st_size)
    assert receipt.etag == '"0x8DC8E2B5A3F1C22"'


@pytest.mark.asyncio
async def test_missing_etag(data_file: Path) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200)

    async with storage(handler) as client:
        with pytest.raises(UnexpectedResponseError, match="sent no ETag"):
            await put_blob(client, URL, data_file, data_file.stat().st_size)


@pytest.mark.parametrize(
    ("status", "code", "message", "sentence", "retryable"),
    [
        (403, "AccessDenied", "Request has expired", "The upload link expired", True),
        (403, "SignatureDoesNotMatch", "The request signature we calculated does not match",
         "Blob storage did not accept the upload link", True),
        (403, "AccessDenied", "Access Denied", "Blob storage refused to store the file", False),
        (400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
         "Blob storage says the file is too large", False),
        (503, "SlowDown", "Please reduce your request rate.", "Blob storage is busy", True),
        (500, "InternalError", "We encountered an internal error. Please try again.", "Blob storage had a problem",
         True),
        (400, "BadDigest", "The Content-MD5 you specified did not match what we received.",
         "Blob storage received different bytes than were sent", True),
    ],
)
@pytest.mark.asyncio
async def test_s3_xml_errors_are_readable(data_file: Path, status: int, code: str, message: str, sentence: str,
                                          retryable: bool) -> None:
    xml = (f'<?xml version="1.0"?><Error><Code>{code}</Code><Message>{message}</Message>'
           "<RequestId>4442587FB7D0A2F9</RequestId></Error>")

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(status, text=xml, headers={"x-amz-request-id": "4442587FB7D0A2F9"})

    async with storage(handler) as client:
        with pytest.raises(SpeckleError) as caught:
            await put_blob(client, URL, data_file, data_file.stat().st_size)
    assert str(caught.value).startswith(sentence)
    assert f"{code}: {message}" in str(caught.value)
    assert "4442587FB7D0A2F9" not in str(caught.value)
    assert caught.value.retryable is retryable
    assert caught.value.server_message == message


@pytest.mark.asyncio
async def test_an_endless_error_answer_is_read_only_so_far(data_file: Path) -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield b"<Error><Code>InvalidArgument</Code><Message>"
        while True:
            yield b"x" * 65536

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(400, content=endless())

    async with storage(handler) as client:
        with pytest.raises(BlobStorageError, match=r"^Blob storage rejected the upload \(HTTP 400"):
            await put_blob(client, URL, data_file, data_file.stat().st_size)


@pytest.mark.asyncio
async def test_file_shrinking_during_upload(data_file: Path) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"ETag": '"x"'})

    def shrink(sent: int) -> None:
        with data_file.open("r+b") as handle:
            handle.truncate(sent)

    async with storage(handler) as client:
        with pytest.raises(FileProblemError, match="became shorter"):
            await put_blob(client, URL, data_file, data_file.stat().st_size, on_progress=shrink,
                           chunk_size=64 * 1024)


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.mark.asyncio
async def test_presigned_put_to_real_s3_implementation(moto_s3: str, data_file: Path) -> None:
    """moto is a real S3 implementation: its ETag must come back exactly as HeadObject reports it."""
    boto3 = pytest.importorskip("boto3")
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    s3.create_bucket(Bucket="speckle-server")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "speckle-server", "Key": "assets/p/f1"},
                                    ExpiresIn=600)
    async with httpx.AsyncClient() as client:
        receipt = await put_blob(client, url, data_file, data_file.stat().st_size, chunk_size=100_000)
    head = s3.head_object(Bucket="speckle-server", Key="assets/p/f1")
    assert receipt.etag == head["ETag"]
    assert receipt.etag == '"' + hashlib.md5(data_file.read_bytes()).hexdigest() + '"'
    assert head["ContentLength"] == data_file.stat().st_size


@pytest.mark.asyncio
@pytest.mark.parametrize("chunk_size", [64 * 1024, 512 * 1024])
async def test_file_growing_during_upload(data_file: Path, chunk_size: int) -> None:
    """Growth before the last read is seen by it (it asks for one byte more); later growth is the job queue's
    to catch (size and modification time after the upload, tests/test_resilience.py)."""
    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"ETag": '"x"'})

    def grow(sent: int) -> None:
        with data_file.open("ab") as handle:
            handle.write(b"more")

    size = data_file.stat().st_size
    async with storage(handler) as client:
        with pytest.raises(FileProblemError, match="grew"):
            await put_blob(client, URL, data_file, size, on_progress=grow, chunk_size=chunk_size)
        data_file.write_bytes(data_file.read_bytes()[:size])  # back to its size: the same file goes through
        receipt = await put_blob(client, URL, data_file, size, chunk_size=chunk_size)
    assert receipt.size == size


@pytest.mark.asyncio
async def test_empty_file_that_grew_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ifc"
    empty.write_bytes(b"late bytes")

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"ETag": '"x"'})

    async with storage(handler) as client:
        with pytest.raises(FileProblemError, match="grew"):
            await put_blob(client, URL, empty, 0)
