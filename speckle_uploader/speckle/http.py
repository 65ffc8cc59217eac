"""The one HTTP connection per Speckle server, and how its answers become data or typed errors.

The token is added per request to the Speckle server only: the shared ``httpx.AsyncClient`` carries no
``Authorization`` default. Blob storage gets a client of its own (``blob_client``: no cookie jar, vetted
addresses, see ``blob_safety``), so neither the token nor the Speckle server's cookies can reach it.

Every answer is bounded: httpx's timeouts are between bytes only (a server sending one byte every 10 s
would hold a request forever), so each exchange runs under an overall deadline (``asyncio.timeout``; for
an upload, from its last byte on), and the body is streamed and refused beyond ``max_answer_bytes``.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import msgspec
import truststore

from speckle_uploader.speckle.answers import understand
from speckle_uploader.speckle.blob_safety import BlobRules, blob_client
from speckle_uploader.speckle.errors import (
    EtagMismatchError,
    FileTooLargeError,
    InvalidTokenError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProjectNotFoundError,
    RateLimitedError,
    RegistrationRefusedError,
    ServerFailureError,
    ServerUnreachableError,
    SpeckleError,
    UnexpectedResponseError,
    UnsupportedFileTypeError,
)
from speckle_uploader.speckle.server_url import normalise_server_url
from speckle_uploader.text import unicode_text

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
ANSWER_DEADLINE = 60.0  # seconds for a whole GraphQL or REST answer (for an upload: after its last byte)
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # the largest answer we read; Speckle's are a few kB
USER_AGENT = "speckle-uploader"
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """A whole HTTP answer, read within its deadline and size cap."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    path: str
    content: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON (an HTML error page, say)."""
        try:
            return msgspec.json.decode(self.content)
        except msgspec.DecodeError:
            return None
        except RecursionError:
            raise UnexpectedResponseError("The server's answer was not understood (nested too deeply).") from None


class SpeckleHttp:
    """GraphQL and REST calls to one server, on one reused ``httpx.AsyncClient``."""

    def __init__(self, server_url: str, token: str | None, *, client: httpx.AsyncClient | None = None,
                 proxy: str | None = None, allow_plain_http_blobs: bool = False, deadline: float = ANSWER_DEADLINE,
                 max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.server_url = normalise_server_url(server_url)
        self._token = token
        self.deadline = deadline
        self.max_answer_bytes = max_answer_bytes
        self._owns_client = client is None
        self._proxy = proxy or system_proxy()
        self.client = client or httpx.AsyncClient(
            timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT}, follow_redirects=False,
            verify=tls_context(), proxy=self._proxy,
        )
        # The user allowed plain-HTTP upload addresses from this (https) server.
        self.allow_plain_http_blobs = allow_plain_http_blobs
        self._blob_client: httpx.AsyncClient | None = None

    @property
    def blob_client(self) -> httpx.AsyncClient:
        """The client for presigned blob-storage PUTs only (made on first use, closed with this one)."""
        if self._blob_client is None:
            self._blob_client = blob_client(verify=tls_context(), proxy=self._proxy, user_agent=USER_AGENT)
        return self._blob_client

    @property
    def blob_rules(self) -> BlobRules:
        return BlobRules(self.server_url, allow_plain_http=self.allow_plain_http_blobs)

    @property
    def host(self) -> str:
        return urlsplit(self.server_url).netloc

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def aclose(self) -> None:
        if self._blob_client is not None:
            await self._blob_client.aclose()
            self._blob_client = None
        if self._owns_client:
            await self.client.aclose()

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one operation; return ``data`` or raise the typed error for the first GraphQL error."""
        payload = json.dumps({"query": query, "variables": wire_safe(variables or {})}, ensure_ascii=False)
        answer = await self.exchange("POST", self.server_url + "/graphql", content=payload.encode(),
                                     headers={**self.auth_headers(), "Content-Type": "application/json"})
        body = self.check_http(answer)
        if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
            raise self.not_speckle(answer)
        errors = body.get("errors")
        if errors:
            if not isinstance(errors, list):
                raise UnexpectedResponseError("The server's answer was not understood ('errors' is not a list).")
            raise error_from_graphql(errors)
        data = body.get("data")
        if not isinstance(data, dict):
            raise self.not_speckle(answer)
        return data

    async def query(self, kind: type[T], query: str, variables: dict[str, Any] | None = None) -> T:
        """Run one operation and check its ``data`` against the schema of its answer (speckle/answers.py)."""
        return understand(await self.graphql(query, variables), kind, self.host)

    async def exchange(self, method: str, url: str, *, headers: dict[str, str],
                       content: bytes | AsyncIterable[bytes] | None = None,
                       io_timeout: httpx.Timeout | None = None) -> Answer:
        """One request and its whole answer, within ``self.deadline`` (counted from the last byte sent when
        ``content`` streams, as a file upload does) and ``self.max_answer_bytes``."""
        loop = asyncio.get_running_loop()
        streaming = content is not None and not isinstance(content, bytes)
        try:
            async with asyncio.timeout_at(None if streaming else loop.time() + self.deadline) as scope:
                if streaming:
                    assert content is not None and not isinstance(content, bytes)
                    content = self._deadline_after(content, scope)
                async with self.client.stream(method, url, headers=headers, content=content,
                                              timeout=io_timeout or httpx.USE_CLIENT_DEFAULT) as response:
                    body = await self._read_capped(response)
                return Answer(response.status_code, response.reason_phrase, response.headers,
                              response.request.url.path, body)
        except TimeoutError:
            raise ServerUnreachableError(
                f"{self.host} did not finish its answer within {self.deadline:g} s; try again later.",
                code="DEADLINE",
            ) from None
        except httpx.TransportError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, SpeckleError):  # our own request body gave up (a file that changed, say)
                raise cause from None
            raise self.unreachable(exc) from exc

    async def _deadline_after(self, content: AsyncIterable[bytes], scope: asyncio.Timeout) -> AsyncIterator[bytes]:
        async for chunk in content:
            yield chunk
        scope.reschedule(asyncio.get_running_loop().time() + self.deadline)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_answer_bytes:
            raise self.too_large()
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.max_answer_bytes:
                raise self.too_large()
        return bytes(body)

    def too_large(self) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            f"The server's answer was too large (more than {self.max_answer_bytes // 1024 // 1024 or 1} MiB "
            f"from {self.host}); is this a Speckle server?"
        )

    def check_http(self, response: Answer) -> Any:
        """Turn the HTTP status of a Speckle answer into an error where it is one; return the JSON body."""
        body = response.json()
        status = response.status_code
        if status in (401, 403) and _is_token_refusal(body):
            message = _rest_error_message(body) or "Your token is not valid."
            raise InvalidTokenError(
                f"{self.host} refused the access token ({message.rstrip('.')}). "
                "Create a new personal access token and sign in again.",
                server_message=message,
                code="INVALID_TOKEN",
            )
        if status == 429:
            raise rate_limited(response)
        if status >= 500:
            raise ServerFailureError(
                f"{self.host} had a problem (HTTP {status}); try again in a moment.",
                server_message=_rest_error_message(body),
            )
        if status == 400 and isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
            raise error_from_graphql(body["errors"])
        if status >= 400 and not (isinstance(body, dict) and "errors" in body):
            detail = _rest_error_message(body)
            if status in (401, 403):
                raise PermissionDeniedError(
                    f"{self.host} refused: {detail or f'HTTP {status}'}", server_message=detail
                )
            if status == 404 and body is None:
                raise self.not_speckle(response)
            raise UnexpectedResponseError(
                f"{self.host} answered HTTP {status}: {detail or response.reason_phrase}",
                server_message=detail,
            )
        return body

    def unreachable(self, exc: httpx.TransportError) -> ServerUnreachableError:
        if isinstance(exc, httpx.TimeoutException):
            why = "it did not answer in time"
        elif isinstance(exc, httpx.ConnectError):
            why = "the connection was refused or the name is unknown"
        else:
            why = "the connection broke"
        return ServerUnreachableError(
            f"Cannot reach {self.host}: {why}. Check the address and your network.",
            server_message=str(exc) or type(exc).__name__,
        )

    def not_speckle(self, response: Answer) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            f"{self.host} does not answer like a Speckle server (HTTP {response.status_code} at "
            f"{response.path}). Check the server address."
        )


def system_proxy() -> str | None:
    """The proxy the operating system's settings name (Windows registry, macOS network settings), where the
    environment names none; httpx reads ``HTTPS_PROXY``/``NO_PROXY`` from the environment by itself."""
    names = {"win32": "getproxies_registry", "darwin": "getproxies_macosx_sysconf"}
    getter = getattr(urllib.request, names.get(sys.platform, ""), None)
    if getter is None:
        return None  # Linux desktops hand proxies over in the environment, which httpx reads
    proxies: dict[str, str] = getter()
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    found: str | None = proxies.get("https") or proxies.get("http")
    return found


def tls_context() -> ssl.SSLContext:
    """The operating system's trust store (truststore), so corporate root certificates just work."""
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def wire_safe(value: Any) -> Any:
    """``value`` with every string safe to encode as UTF-8: a file name that is not valid UTF-8 (lone
    surrogates from the file system) goes to the server with replacement characters."""
    if isinstance(value, str):
        return unicode_text(value)
    if isinstance(value, dict):
        return {wire_safe(k): wire_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire_safe(v) for v in value]
    return value


def rate_limited(response: Answer | httpx.Response) -> RateLimitedError:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    wait = f" for {retry_after:.0f} s" if retry_after is not None else ""
    return RateLimitedError(
        f"The server asks us to slow down{wait} (too many requests).", retry_after=retry_after, code="RATE_LIMIT_ERROR"
    )


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        import datetime as dt
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _is_token_refusal(body: Any) -> bool:
    message = _rest_error_message(body)
    return message is not None and "token" in message.lower()


def _rest_error_message(body: Any) -> str | None:
    """Speckle REST errors are ``{"error": "text"}`` or ``{"error": {"message": "text", "code": ...}}``."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, str):
        return error
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return None


def error_from_graphql(errors: Any) -> SpeckleError:
    """Map the first GraphQL error to our typed error, keeping the server's words."""
    first: dict[str, Any] = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    message = str(first.get("message") or "Unknown error")
    extensions = first.get("extensions")
    code = str(extensions.get("code") or "") if isinstance(extensions, dict) else ""
    kwargs: dict[str, Any] = {"server_message": message, "code": code or None}
    if code in ("FORBIDDEN", "UNAUTHORIZED", "STREAM_INVALID_ACCESS_ERROR"):
        return PermissionDeniedError(f"Not allowed: {message}", **kwargs)
    if code == "STREAM_NOT_FOUND":
        return ProjectNotFoundError(f"Project not found: {message}", **kwargs)
    if code in ("MODEL_NOT_FOUND", "BRANCH_NOT_FOUND"):
        return ModelNotFoundError(f"Model not found: {message}", **kwargs)
    if code == "UNSUPPORTED_FILE_TYPE":
        return UnsupportedFileTypeError(f"The server does not import this kind of file: {message}", **kwargs)
    if code == "RATE_LIMIT_ERROR":
        return RateLimitedError(f"The server asks us to slow down (too many requests): {message}", **kwargs)
    if code in ("GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"):
        return UnexpectedResponseError(
            f"The server does not understand this request (a server version we do not support?): {message}", **kwargs
        )
    if message.startswith("ETag mismatch"):
        return EtagMismatchError(f"The stored file does not match what was sent: {message}", **kwargs)
    if code in ("ALREADY_REGISTERED_BLOB_ERROR", "STORED_BLOB_ACCESS_ERROR"):
        # The server refused this upload's registration: a fresh upload link and PUT will do.
        return RegistrationRefusedError(f"The server refused to register the upload: {message}", **kwargs)
    if message.startswith("File size exceeds"):
        return FileTooLargeError(f"The file is too large for this server: {message}", **kwargs)
    return SpeckleError(message, **kwargs)
