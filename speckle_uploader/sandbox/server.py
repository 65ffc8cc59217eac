"""The sandbox as an HTTP server (aiohttp): ``/graphql``, presigned blob storage and the legacy REST upload.

Behaves as the real services do where the app can tell: an unknown token is HTTP 403
``{"error":"Your token is not valid."}``, GraphQL errors come with HTTP 200 and ``extensions.code``, a
query the schema does not know is HTTP 400 ``GRAPHQL_VALIDATION_FAILED``, blob storage wants a
signed, unexpired URL, a ``Content-Length``, no ``Authorization`` header, and answers with an MD5 ETag
or an S3 XML error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, ClientPayloadError, web
from graphql import GraphQLError, parse, validate
from graphql.execution import execute

from speckle_uploader.sandbox.graphql_api import Context, Mutation, Query, schema_for
from speckle_uploader.sandbox.hostile import HostileLog
from speckle_uploader.sandbox.hostile import middleware as hostile_middleware
from speckle_uploader.sandbox.processing import process_file_upload
from speckle_uploader.sandbox.store import (
    BlobStatus,
    Flavor,
    SandboxConfig,
    SandboxError,
    Store,
    demo_store,
    new_id,
)
from speckle_uploader.sandbox.subscriptions import SubscriptionSession

BUCKET = "speckle-server"
CHUNK = 1024 * 1024


@dataclass
class Fault:
    """An answer the sandbox gives instead of the real one, for fault-injection tests."""

    path_prefix: str  # "/graphql", "/blob/", "/api/file/"
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    method: str | None = None  # only this method (None: any)


@dataclass
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]


class Sandbox:
    """Owns the store and the aiohttp application; start it with ``SandboxServer``."""

    def __init__(self, config: SandboxConfig | None = None, data_dir: Path | None = None) -> None:
        self.config = config or SandboxConfig()
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="speckle-sandbox-")
        self.data_dir = data_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        (self.data_dir / "blobs").mkdir(parents=True, exist_ok=True)
        self.store: Store = demo_store(self.config, self.data_dir)
        self.secret = secrets.token_bytes(16)
        self.base_url = ""
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self.background: set[asyncio.Task[None]] = set()
        self.websockets: set[web.WebSocketResponse] = set()
        self.hostile_log = HostileLog()  # what a hostile sandbox (config.hostile) saw clients do
        self.app = web.Application(middlewares=[self._record_and_fault, hostile_middleware(self)],
                                   client_max_size=1024 * 1024)
        self.app.router.add_post("/graphql", self.graphql)
        self.app.router.add_get("/graphql", self.graphql_get)
        self.app.router.add_put("/blob/{bucket}/assets/{project_id}/{blob_id}", self.put_blob)
        self.app.router.add_post("/api/file/{file_type}/{project_id}", self.rest_upload)
        self.app.router.add_post("/api/file/{file_type}/{project_id}/{model_name}", self.rest_upload)
        self.app.router.add_get("/", self.index)
        self.app.on_shutdown.append(self._close_websockets)  # before aiohttp waits for handlers to finish
        if self.config.azure is not None:
            self.app.on_startup.append(self._azure_container)
        self.app.on_cleanup.append(self._cleanup)

    @property
    def flavor(self) -> Flavor:
        return self.config.flavor

    async def _azure_container(self, _app: web.Application) -> None:
        assert self.config.azure is not None
        await self.config.azure.ensure_container()

    async def _close_websockets(self, _app: web.Application) -> None:
        await self.drop_websockets()

    async def _cleanup(self, _app: web.Application) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- plumbing ------------------------------------------------------------------------------
    @web.middleware
    async def _record_and_fault(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(RequestRecord(request.method, request.path, dict(request.headers)))
        for fault in self.faults:
            if (fault.times > 0 and request.path.startswith(fault.path_prefix)
                    and fault.method in (None, request.method)):
                fault.times -= 1
                if request.content_length is not None and request.content_length < CHUNK:
                    await request.read()  # small bodies are drained so the client sees the answer, not a reset
                return web.Response(status=fault.status, text=fault.body, headers=fault.headers)
        response: web.StreamResponse = await handler(request)
        return response

    def _user(self, request: web.Request) -> Any:
        """None for no token; raises the real 403 for a token the server does not know."""
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        token = header.split(" ", 1)[1] if " " in header else header
        user = self.store.user_by_token(token)
        if user is None:
            raise web.HTTPForbidden(text=json.dumps({"error": "Your token is not valid."}),
                                    content_type="application/json")
        return user

    def sign_url(self, project_id: str, blob_id: str) -> str:
        expires = int(time.time()) + self.config.url_expiry_seconds
        if self.config.expire_next_urls > 0:
            self.config.expire_next_urls -= 1
            expires = int(time.time()) - 1
        if self.config.azure is not None:
            until = dt.datetime.fromtimestamp(expires, dt.UTC)
            return self.config.azure.sas_url(f"{project_id}/{blob_id}", expiry=until)
        path = f"/blob/{BUCKET}/assets/{project_id}/{blob_id}"
        signature = hmac.new(self.secret, f"PUT\n{path}\n{expires}".encode(), hashlib.sha256).hexdigest()
        return (f"{self.base_url}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={expires}"
                f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # -- GraphQL -------------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.Response:
        return web.Response(text=f"Speckle sandbox ({self.flavor.value}). GraphQL at /graphql.\n")

    async def graphql_get(self, request: web.Request) -> web.StreamResponse:
        """Websocket subscriptions live on the same path as queries, as on the real server."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="GET query missing.")
        if not self.config.websockets_enabled:
            return web.Response(status=403, text="Websockets are blocked here.")
        ws = web.WebSocketResponse(protocols=("graphql-ws",), heartbeat=None)
        await ws.prepare(request)
        self.websockets.add(ws)
        try:
            await SubscriptionSession(self.store, ws, self.config.keepalive_seconds).run()
        finally:
            self.websockets.discard(ws)
            await ws.close()
        return ws

    async def drop_websockets(self) -> int:
        """Cut every subscription connection (fault injection); returns how many were open."""
        sockets = list(self.websockets)
        for ws in sockets:
            await ws.close(code=1011, message=b"sandbox dropped the connection")
        return len(sockets)

    async def graphql(self, request: web.Request) -> web.Response:
        user = self._user(request)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _gql_error(400, "POST body missing, invalid Content-Type, or JSON object has no keys.",
                              "BAD_REQUEST")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _gql_error(400, "POST body missing a query.", "BAD_REQUEST")
        schema = schema_for(self.flavor)
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            return _gql_error(400, exc.message, "GRAPHQL_PARSE_FAILED")
        errors = validate(schema, document)
        if errors:
            return _gql_error(400, errors[0].message, "GRAPHQL_VALIDATION_FAILED")
        context = Context(self.store, user, self.base_url, self.sign_url, self.background,
                          self.fetch_azure_blob if self.config.azure is not None else None)
        result = execute(schema, document, root_value=_Root(self.store), context_value=context,
                         variable_values=body.get("variables") or {}, operation_name=body.get("operationName"))
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        payload: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
        if result.errors:  # type: ignore[union-attr]
            if result.data is None and _is_variable_error(result.errors):  # type: ignore[union-attr]
                return _gql_error(400, result.errors[0].message, "BAD_USER_INPUT")  # type: ignore[union-attr]
            payload["errors"] = [_format_error(e) for e in result.errors]  # type: ignore[union-attr]
        return web.json_response(payload)

    # -- blob storage --------------------------------------------------------------------------
    async def fetch_azure_blob(self, project_id: str, blob_id: str) -> None:
        """Before registering an upload: what Azure holds for it (ETag, size, bytes), as the real server asks."""
        blob = self.store.blobs.get(blob_id)
        azure = self.config.azure
        if blob is None or blob.project_id != project_id or azure is None or blob.etag is not None:
            return
        target = self.data_dir / "blobs" / blob.id
        found = await azure.fetch(f"{project_id}/{blob_id}", target)
        if found is not None:
            blob.etag, blob.size = found
            blob.path = target

    async def put_blob(self, request: web.Request) -> web.Response:
        query = request.query
        path = request.path
        expires = query.get("X-Amz-Expires", "")
        expected = hmac.new(self.secret, f"PUT\n{path}\n{expires}".encode(), hashlib.sha256).hexdigest()
        if "Authorization" in request.headers:
            return _s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                                                     "query parameter, Signature query string parameter or the "
                                                     "Authorization header should be specified")
        if not hmac.compare_digest(expected, query.get("X-Amz-Signature", "")):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                                                            "the signature you provided.")
        if not expires.isdigit() or int(expires) < time.time():
            return _s3_error(403, "AccessDenied", "Request has expired")
        if request.content_length is None:
            return _s3_error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        if self.flavor is Flavor.CLOUD and request.headers.get("x-ms-blob-type") != "BlockBlob":
            return _s3_error(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is "
                                                            "not specified: x-ms-blob-type.")
        blob = self.store.blobs.get(request.match_info["blob_id"])
        if blob is None or blob.project_id != request.match_info["project_id"]:
            return _s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
        target = self.data_dir / "blobs" / blob.id
        if self.config.cut_next_uploads > 0:
            self.config.cut_next_uploads -= 1
            await request.content.readany()
            assert request.transport is not None
            request.transport.close()  # the connection breaks mid-upload
            return web.Response(status=500)
        try:
            size, md5 = await _receive(request, target, self.config.blob_bytes_per_second)
        except (ConnectionResetError, ClientPayloadError):  # the client gave up mid-upload
            target.unlink(missing_ok=True)
            return _s3_error(400, "IncompleteBody", "The connection was closed before the body was received.")
        if size != request.content_length:
            target.unlink(missing_ok=True)
            return _s3_error(400, "IncompleteBody", "You did not provide the number of bytes specified by the "
                                                    "Content-Length HTTP header.")
        blob.path, blob.size, blob.etag = target, size, f'"{md5}"'
        return web.Response(status=200, headers={"ETag": blob.etag})

    # -- legacy REST upload --------------------------------------------------------------------
    async def rest_upload(self, request: web.Request) -> web.Response:
        if self.flavor is Flavor.CLOUD:
            raise web.HTTPNotFound()
        user = self._user(request)
        project_id = request.match_info["project_id"]
        model_name = unquote(request.match_info.get("model_name", "main"))
        try:
            project = self.store.require_publish(project_id, user)
        except SandboxError as exc:
            status = 404 if exc.code == "STREAM_NOT_FOUND" else 403 if exc.code == "FORBIDDEN" else 401
            message = ("Project ID is malformed and cannot be found, or the project does not exist"
                       if status == 404 else exc.message)
            return web.json_response({"error": message}, status=status)
        model = self.store.model_by_name(project, model_name)
        if model is None and self.flavor is not Flavor.LEGACY:  # 2.26+: the model must exist
            return web.json_response(
                {"error": {"message": f"Branch {model_name} was not found", "code": "BRANCH_NOT_FOUND"}}, status=404)
        if not request.content_type.startswith("multipart/"):
            return web.json_response({"error": "Upload request error. The server logs may have more details."},
                                     status=400)
        results = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or not part.filename:
                continue
            blob_id = new_id(self.store.rng)
            target = self.data_dir / "blobs" / blob_id
            size, _md5, over = await _receive_part(part, target, self.config.blob_size_limit_bytes)
            result: dict[str, Any] = {"blobId": blob_id, "fileName": part.filename, "fileSize": size,
                                      "formKey": part.name}
            if over:
                target.unlink(missing_ok=True)
                result.update(uploadStatus=2, uploadError="File size limit reached")
            else:
                blob = self.store.new_blob(project_id, part.filename, user)
                del self.store.blobs[blob.id]
                blob.id, blob.path, blob.size, blob.status = blob_id, target, size, BlobStatus.COMPLETED
                self.store.blobs[blob_id] = blob
                upload = self.store.add_file_upload(blob, model_name.lower(), model.id if model else None, user)
                self._spawn(process_file_upload(self.store, upload))
                result["uploadStatus"] = 1
            results.append(result)
        headers = {}
        if self.flavor is Flavor.FILE_IMPORT:
            headers["Warning"] = ("Deprecated API; use POST /graphql (mutation.fileUploadMutations.generateUploadUrl),"
                                  " then PUT (to the provided url), then POST /graphql "
                                  "(mutation.fileUploadMutations.startFileImport)")
        return web.json_response({"uploadResults": results}, status=201, headers=headers)


class _Root:
    """Root value: Query and Mutation fields are looked up on it by name."""

    def __init__(self, store: Store) -> None:
        query, mutation = Query(store), Mutation(store)
        for source in (query, mutation):
            for name in dir(source):
                if not name.startswith("_"):
                    setattr(self, name, getattr(source, name))


async def _receive(request: web.Request, target: Path, rate: float | None = None) -> tuple[int, str]:
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    started = time.monotonic()
    with target.open("wb") as handle:
        async for chunk in request.content.iter_chunked(CHUNK):
            digest.update(chunk)
            handle.write(chunk)
            size += len(chunk)
            if rate:  # read no faster than the shaped rate: TCP back-pressure slows the sender
                ahead = size / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    return size, digest.hexdigest()


async def _receive_part(part: BodyPartReader, target: Path, limit: int) -> tuple[int, str, bool]:
    digest = hashlib.md5(usedforsecurity=False)
    size, over = 0, False
    with target.open("wb") as handle:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > limit:
                over = True
                continue  # drain the part
            digest.update(chunk)
            handle.write(chunk)
    return size, digest.hexdigest(), over


def _gql_error(status: int, message: str, code: str) -> web.Response:
    return web.json_response({"errors": [{"message": message, "extensions": {"code": code}}]}, status=status)


def _is_variable_error(errors: list[GraphQLError]) -> bool:
    return all(e.path is None for e in errors)


def _format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", "INTERNAL_SERVER_ERROR")
    formatted["extensions"] = extensions
    return formatted


def _s3_error(status: int, code: str, message: str) -> web.Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{secrets.token_hex(8)}</RequestId></Error>")
    return web.Response(status=status, text=body, content_type="application/xml")

