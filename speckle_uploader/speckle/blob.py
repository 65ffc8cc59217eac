"""The PUT of a file's bytes to a presigned blob-storage URL (S3-compatible or Azure).

Streams from disk in chunks with an explicit ``Content-Length`` (without it httpx sends chunked encoding,
which S3 refuses), never sends the Speckle token and keeps the ETag verbatim. Disk reads (and hashing, when
done) run in a worker thread (hashlib releases the GIL), so the event loop - and the Qt thread driving it -
only moves bytes.

Integrity: over HTTPS, TLS authenticates every byte on the way, so the bytes stored are the bytes read;
hashing them again would cost a CPU core at ~600 MB/s and halve a fast upload (benchmarks/README.md), and
an S3 bucket with SSE-KMS answers ETags that look like an MD5 but are not one. Over plain HTTP (a LAN
MinIO, the sandbox, Azurite) nothing else checks the bytes, so the MD5 is computed while streaming and
compared with what the store returns (``blob_stores.check_integrity``). Either way a file saved while it
uploads is caught by the job queue (its size and modification time, before and after).

Bounds: where the PUT may go and what it carries is vetted first (``blob_safety``); a file over the store's
single-PUT limit is refused before sending; the store's answer must come within ``ANSWER_DEADLINE`` of the
last byte (read timeouts alone are between bytes) and is read up to ``ANSWER_LIMIT`` bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx

from speckle_uploader.speckle import blob_stores
from speckle_uploader.speckle.allocator import keep_upload_buffers
from speckle_uploader.speckle.blob_safety import BlobRules, vet_headers, vet_url
from speckle_uploader.speckle.errors import FileProblemError, ServerUnreachableError, UnexpectedResponseError

CHUNK_SIZE = 1024 * 1024
PUT_TIMEOUT = httpx.Timeout(60.0, connect=15.0, read=300.0)
ANSWER_DEADLINE = 300.0  # seconds from the last byte sent to the store's whole answer
ANSWER_LIMIT = 64 * 1024  # an error answer is a few hundred bytes of XML

ProgressCallback = Callable[[int], None]
Throttle = Callable[[int], Awaitable[None]]  # waits until that many more bytes may go (a speed limit)


@dataclass(frozen=True)
class BlobReceipt:
    etag: str  # exactly as the storage sent it, quotes included
    md5: str | None  # of the bytes sent, when they were hashed (plain-HTTP blob URLs)
    size: int


def verifies_md5(url: str) -> bool:
    """Whether an upload to ``url`` is hashed and checked against the ETag (see the module docstring)."""
    return urlsplit(url).scheme.lower() == "http"


def _read_chunk(handle: IO[bytes], digest: hashlib._Hash | None, size: int) -> bytes:
    chunk = handle.read(size)
    if digest is not None:
        digest.update(chunk)
    return chunk


async def stream_file(path: Path, size: int, on_progress: ProgressCallback | None, *,
                      digest: hashlib._Hash | None = None, chunk_size: int = CHUNK_SIZE,
                      on_done: Callable[[], None] | None = None,
                      throttle: Throttle | None = None) -> AsyncIterator[bytes]:
    """Yield exactly ``size`` bytes of ``path``; a file that changes length meanwhile is an error.
    ``on_done`` is called once the last byte has been handed over."""
    sent = 0
    with path.open("rb") as handle:
        while sent < size:
            want = min(chunk_size, size - sent)
            # The last read asks for one byte more: a file that grew shows without another thread hop per file.
            last = sent + want == size
            chunk = await asyncio.to_thread(_read_chunk, handle, digest, want + 1 if last else want)
            if not chunk:
                raise FileProblemError(f"{path.name} became shorter while it was being uploaded.")
            if len(chunk) > want:
                raise FileProblemError(f"{path.name} grew while it was being uploaded.")
            sent += len(chunk)
            if throttle is not None:
                await throttle(len(chunk))
            yield chunk
            if on_progress is not None:
                on_progress(sent)
        if not size and len(await asyncio.to_thread(handle.read, 1)):
            raise FileProblemError(f"{path.name} grew while it was being uploaded.")
    if on_done is not None:
        on_done()


async def put_blob(client: httpx.AsyncClient, url: str, path: Path, size: int, *,
                   headers: dict[str, str] | None = None, on_progress: ProgressCallback | None = None,
                   chunk_size: int = CHUNK_SIZE, verify_md5: bool | None = None, rules: BlobRules | None = None,
                   answer_deadline: float = ANSWER_DEADLINE, throttle: Throttle | None = None) -> BlobReceipt:
    """PUT the file to ``url``; return the ETag verbatim. Raises typed errors for every refusal.

    ``client`` should be a blob-only client (``blob_safety.blob_client``: no cookies, vetted addresses).
    ``headers`` are the server's ``additionalRequestHeaders``; ``rules`` say who handed out the URL.
    ``verify_md5`` None decides by the URL's scheme (:func:`verifies_md5`).
    """
    vet_url(url, rules or BlobRules())
    send_headers = {"Content-Type": "application/octet-stream"}
    send_headers.update(vet_headers(headers))
    send_headers["Content-Length"] = str(size)
    blob_stores.check_size(url, size, path.name)
    if verify_md5 is None:
        verify_md5 = verifies_md5(url)
    digest = hashlib.md5(usedforsecurity=False) if verify_md5 else None
    host = urlsplit(url).netloc
    loop = asyncio.get_running_loop()
    keep_upload_buffers()  # glibc: chunks reuse the heap instead of faulting in fresh pages (allocator.py)
    try:
        async with asyncio.timeout(None) as deadline:
            def last_byte_sent() -> None:
                deadline.reschedule(loop.time() + answer_deadline)

            body = stream_file(path, size, on_progress, digest=digest, chunk_size=chunk_size, on_done=last_byte_sent,
                               throttle=throttle)
            request = client.build_request("PUT", url, content=body, headers=send_headers, timeout=PUT_TIMEOUT)
            response = await client.send(request, stream=True)
            if deadline.when() is None:  # it answered before the last byte: its answer's body is bounded too
                last_byte_sent()
            try:
                answer = await _read_capped(response)
            finally:
                await response.aclose()
    except TimeoutError:
        raise ServerUnreachableError(
            f"{host} received the file but did not finish answering within {answer_deadline:.0f} s; uploading again.",
        ) from None
    except httpx.TransportError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, FileProblemError):
            raise cause from None
        raise ServerUnreachableError(
            f"The upload to {host} broke off: {exc or type(exc).__name__}.", server_message=str(exc)
        ) from exc
    if response.status_code >= 300:
        raise blob_stores.error_for(response.status_code, response.headers, answer, url, send_headers)
    etag = response.headers.get("ETag")
    if not etag:
        raise UnexpectedResponseError(f"{host} accepted the file but sent no ETag; the server cannot verify it.")
    md5 = digest.hexdigest() if digest is not None else None
    blob_stores.check_integrity(response.headers, md5)
    return BlobReceipt(etag=etag, md5=md5, size=size)


async def _read_capped(response: httpx.Response) -> str:
    """The answer's body, up to ``ANSWER_LIMIT`` bytes (the rest is not read)."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= ANSWER_LIMIT:
            break
    return bytes(data[:ANSWER_LIMIT]).decode("utf-8", errors="replace")
