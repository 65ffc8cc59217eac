"""The PUT of a file's bytes to a presigned blob-storage URL (S3-compatible or Azure).

Streams from disk in chunks with an explicit ``Content-Length`` (without it httpx sends chunked encoding,
which S3 refuses), never sends the Speckle token and keeps the ETag verbatim. Disk reads (and hashing, when
done) run in a worker thread (hashlib releases the GIL), so the event loop - and the Qt thread driving it -
only moves bytes.

Integrity: over HTTPS, TLS authenticates every byte on the way, so the bytes stored are the bytes read;
hashing them again would cost a CPU core at ~600 MB/s and halve a fast upload (benchmarks/README.md), and
an S3 bucket with SSE-KMS answers ETags that look like an MD5 but are not one. Over plain HTTP (a LAN
MinIO, the sandbox) nothing else checks the bytes, so the MD5 is computed while streaming and compared
with a plain-MD5 ETag. Either way a file saved while it uploads is caught by the job queue (its size and
modification time, before and after), for every kind of server.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx

from speckle_uploader.speckle.errors import (
    BlobStorageError,
    EtagMismatchError,
    FileProblemError,
    ServerUnreachableError,
    UnexpectedResponseError,
)

CHUNK_SIZE = 1024 * 1024
PUT_TIMEOUT = httpx.Timeout(60.0, connect=15.0, read=300.0)
_PLAIN_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')

ProgressCallback = Callable[[int], None]


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
                      digest: hashlib._Hash | None = None, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """Yield exactly ``size`` bytes of ``path``; a file that changes length meanwhile is an error."""
    sent = 0
    with path.open("rb") as handle:
        while sent < size:
            chunk = await asyncio.to_thread(_read_chunk, handle, digest, min(chunk_size, size - sent))
            if not chunk:
                raise FileProblemError(f"{path.name} became shorter while it was being uploaded.")
            sent += len(chunk)
            yield chunk
            if on_progress is not None:
                on_progress(sent)
        if await asyncio.to_thread(handle.read, 1):
            raise FileProblemError(f"{path.name} grew while it was being uploaded.")


async def put_blob(client: httpx.AsyncClient, url: str, path: Path, size: int, *,
                   headers: dict[str, str] | None = None, on_progress: ProgressCallback | None = None,
                   chunk_size: int = CHUNK_SIZE, verify_md5: bool | None = None) -> BlobReceipt:
    """PUT the file to ``url``; return the ETag verbatim. Raises typed errors for every refusal.

    ``verify_md5`` None decides by the URL's scheme (:func:`verifies_md5`).
    """
    send_headers = {"Content-Type": "application/octet-stream"}
    send_headers.update({k: v for k, v in (headers or {}).items() if k.lower() != "authorization"})
    send_headers["Content-Length"] = str(size)
    if verify_md5 is None:
        verify_md5 = verifies_md5(url)
    digest = hashlib.md5(usedforsecurity=False) if verify_md5 else None
    host = urlsplit(url).netloc
    try:
        response = await client.put(
            url,
            content=stream_file(path, size, on_progress, digest=digest, chunk_size=chunk_size),
            headers=send_headers,
            timeout=PUT_TIMEOUT,
        )
    except httpx.TransportError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, FileProblemError):
            raise cause from None
        raise ServerUnreachableError(
            f"The upload to {host} broke off: {exc or type(exc).__name__}.", server_message=str(exc)
        ) from exc
    if response.status_code >= 300:
        raise storage_error(response)
    etag = response.headers.get("ETag")
    if not etag:
        raise UnexpectedResponseError(f"{host} accepted the file but sent no ETag; the server cannot verify it.")
    md5 = digest.hexdigest() if digest is not None else None
    plain = _PLAIN_MD5_ETAG.match(etag)
    if md5 is not None and plain and plain.group(1).lower() != md5:
        raise EtagMismatchError(
            f"Blob storage stored different bytes than were sent (ETag {etag}, sent MD5 {md5}); upload again.",
            server_message=etag,
        )
    return BlobReceipt(etag=etag, md5=md5, size=size)


def storage_error(response: httpx.Response) -> BlobStorageError:
    """S3 answers ``<Error><Code>..</Code><Message>..</Message></Error>``; Azure much the same."""
    code, message = _xml_error(response.text)
    detail = ": ".join(part for part in (code, message) if part) or response.reason_phrase
    if response.status_code == 403 and "expired" in (message or "").lower():
        sentence = "The upload link expired before the upload finished"
    elif response.status_code == 403:
        sentence = "Blob storage refused the upload"
    elif response.status_code == 413 or code == "EntityTooLarge":
        sentence = "Blob storage says the file is too large"
    elif response.status_code >= 500:
        sentence = "Blob storage had a problem"
    else:
        sentence = "Blob storage rejected the upload"
    return BlobStorageError(
        f"{sentence} (HTTP {response.status_code}, {detail}).",
        status=response.status_code,
        server_message=message or response.text[:500] or None,
        code=code,
    )


def _xml_error(text: str) -> tuple[str | None, str | None]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None, None
    code = root.findtext("Code") or root.findtext("{*}Code")
    message = root.findtext("Message") or root.findtext("{*}Message")
    return code, message
