"""The REST upload of servers older than the presigned API: ``POST /api/file/autodetect/{project}/{model}``.

One multipart request carries the file and starts the import; the answer's ``blobId`` is the FileUpload id
to follow. The body is built by hand so it streams from disk with a known length and reports progress.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from speckle_uploader.speckle.answers import LegacyAnswer, understand
from speckle_uploader.speckle.blob import PUT_TIMEOUT, ProgressCallback, Throttle, stream_file
from speckle_uploader.speckle.errors import (
    FileTooLargeError,
    ModelNotFoundError,
    ProjectNotFoundError,
    SpeckleError,
    UnexpectedResponseError,
)
from speckle_uploader.speckle.http import Answer, SpeckleHttp
from speckle_uploader.text import unicode_text


def _quoted_filename(name: str) -> str:
    return unicode_text(name).replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


async def upload_legacy(http: SpeckleHttp, project_id: str, model_name: str, path: Path, size: int,
                        on_progress: ProgressCallback | None = None, throttle: Throttle | None = None) -> str:
    """Upload and start the import in one request; return the upload (blob) id."""
    boundary = "speckle-uploader-" + secrets.token_hex(12)
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{_quoted_filename(path.name)}"; '
        f"filename*=UTF-8''{quote(unicode_text(path.name))}\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in stream_file(path, size, on_progress, throttle=throttle):
            yield chunk
        yield tail

    url = (f"{http.server_url}/api/file/autodetect/{quote(unicode_text(project_id), safe='')}/"
           f"{quote(unicode_text(model_name), safe='')}")
    headers = http.auth_headers()
    headers.update({
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
    })
    # The answer has the connection's overall deadline from the last byte sent, and its size cap.
    response = await http.exchange("POST", url, content=body(), headers=headers, io_timeout=PUT_TIMEOUT)
    if response.status_code == 404:
        raise _not_found(response)
    answer = understand(http.check_http(response), LegacyAnswer, http.host)
    if not answer.upload_results:
        raise UnexpectedResponseError(
            f"{http.host} answered the upload without a result (HTTP {response.status_code})."
        )
    result = answer.upload_results[0]
    if result.upload_status != 1 or not result.blob_id:
        reason = result.upload_error or "no reason given"
        if "size" in reason.lower() and "limit" in reason.lower():
            raise FileTooLargeError(f"The file is too large for this server: {reason}", server_message=reason)
        raise SpeckleError(f"The server did not store the file: {reason}", server_message=reason)
    return result.blob_id


def _not_found(response: Answer) -> SpeckleError:
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or "not found")
        if error.get("code") == "BRANCH_NOT_FOUND":
            return ModelNotFoundError(f"Model not found: {message}", server_message=message, code="BRANCH_NOT_FOUND")
        code = error.get("code")
        return SpeckleError(message, server_message=message, code=code if isinstance(code, str) else None)
    if isinstance(error, str):
        return ProjectNotFoundError(f"Project not found: {error}", server_message=error)
    return UnexpectedResponseError("This server has no file upload route (uploads disabled, or not a Speckle server).")
