"""The sandbox's GraphQL subscriptions over websocket, in the protocol the real server speaks:
subscriptions-transport-ws (sub-protocol ``graphql-ws``): connection_init -> connection_ack, ``ka``
keep-alives, start/stop, data/error/complete. As on the real server, an unknown token is not refused at
connect time; it simply receives no events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web
from graphql import DocumentNode, GraphQLError, execute, parse, validate

from speckle_uploader.sandbox.graphql_api import file_upload_node, ingestion_node, schema_for
from speckle_uploader.sandbox.store import FileUpload, Ingestion, Store, User

log = logging.getLogger(__name__)


class SubscriptionSession:
    def __init__(self, store: Store, ws: web.WebSocketResponse, keepalive_seconds: float) -> None:
        self.store = store
        self.ws = ws
        self.keepalive_seconds = keepalive_seconds
        self.user: User | None = None
        self.operations: dict[str, tuple[DocumentNode, dict[str, Any]]] = {}
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def run(self) -> None:
        self.store.listeners.append(self.on_store_event)
        sender = asyncio.create_task(self._send_loop())
        try:
            async for message in self.ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(message.data)
                except json.JSONDecodeError:
                    continue
                if not await self.on_frame(frame):
                    break
        finally:
            self.store.listeners.remove(self.on_store_event)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _send_loop(self) -> None:
        while True:
            try:
                frame = await asyncio.wait_for(self._outbox.get(), timeout=self.keepalive_seconds)
            except TimeoutError:
                frame = {"type": "ka"}
            if self.ws.closed:
                return
            await self.ws.send_str(json.dumps(frame))

    def send(self, frame: dict[str, Any]) -> None:
        self._outbox.put_nowait(frame)

    async def on_frame(self, frame: dict[str, Any]) -> bool:
        kind = frame.get("type")
        if kind == "connection_init":
            payload = frame.get("payload") or {}
            header = (payload.get("Authorization") or payload.get("authorization")
                      or (payload.get("headers") or {}).get("Authorization")
                      or (payload.get("headers") or {}).get("authorization"))
            if not header or " " not in header:
                self.send({"type": "connection_error", "payload": {"message": "You need a token to subscribe"}})
                await asyncio.sleep(0.05)
                return False
            self.user = self.store.user_by_token(header.split(" ", 1)[1])  # unknown: anonymous, no events
            self.send({"type": "connection_ack"})
            self.send({"type": "ka"})
        elif kind == "start":
            op_id = str(frame.get("id"))
            payload = frame.get("payload") or {}
            try:
                document = parse(payload.get("query") or "")
                errors = validate(schema_for(self.store.flavor), document)
            except GraphQLError as exc:
                errors = [exc]
            if errors:
                self.send({"type": "error", "id": op_id, "payload": [{"message": errors[0].message}]})
                return True
            self.operations[op_id] = (document, payload.get("variables") or {})
        elif kind == "stop":
            op_id = str(frame.get("id"))
            self.operations.pop(op_id, None)
            self.send({"type": "complete", "id": op_id})
        elif kind == "connection_terminate":
            return False
        return True

    def on_store_event(self, event: str, payload: object) -> None:
        if self.user is None:
            return
        if event == "ingestion" and isinstance(payload, Ingestion):
            project = self.store.projects.get(payload.project_id)
            if project is None or self.user.id not in project.roles:
                return
            self._publish(lambda variables: _ingestion_root(payload, variables))
        elif event == "fileupload" and isinstance(payload, FileUpload):
            project = self.store.projects.get(payload.project_id)
            if project is None or self.user.id not in project.roles:
                return
            self._publish(lambda variables: _file_upload_root(self.store, payload, variables))

    def _publish(self, root_for: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        schema = schema_for(self.store.flavor)
        for op_id, (document, variables) in list(self.operations.items()):
            root = root_for(variables)
            if root is None:
                continue
            result = execute(schema, document, root_value=root, variable_values=variables)
            if asyncio.iscoroutine(result):  # pragma: no cover - our resolvers are synchronous
                result.close()
                continue
            data = result.data  # type: ignore[union-attr]
            if not data or all(value is None for value in data.values()):
                continue
            self.send({"type": "data", "id": op_id, "payload": {"data": data}})


def _ingestion_root(ingestion: Ingestion, variables: dict[str, Any]) -> dict[str, Any]:
    def field(info: object, input: dict[str, Any]) -> dict[str, Any] | None:
        reference = input.get("ingestionReference") or {}
        if input.get("projectId") != ingestion.project_id:
            return None
        if reference.get("ingestionId") not in (None, ingestion.id) or reference.get("modelId") not in (
                None, ingestion.model_id):
            return None
        kind = "cancellationRequested" if ingestion.cancellation_requested and ingestion.status in (
            "queued", "processing") else "updated"
        return {"type": kind, "modelIngestion": ingestion_node(ingestion)}

    return {"projectModelIngestionUpdated": field}


def _file_upload_root(store: Store, upload: FileUpload, variables: dict[str, Any]) -> dict[str, Any]:
    kind = "CREATED" if upload.converted_status == 0 else "UPDATED"

    def pending_versions(info: object, id: str) -> dict[str, Any] | None:
        if id != upload.project_id or upload.model_id is None:
            return None
        return {"type": kind, "id": upload.id, "version": file_upload_node(upload, store)}

    def file_import(info: object, id: str) -> dict[str, Any] | None:
        if id != upload.project_id:
            return None
        return {"type": kind, "id": upload.id, "upload": file_upload_node(upload, store)}

    return {"projectPendingVersionsUpdated": pending_versions, "projectFileImportUpdated": file_import}
