"""The sandbox's GraphQL: the real schema's names (``schema/*.graphql``), resolved against the ``Store``.

graphql-core's default resolver reads dict keys and object attributes and calls what is callable with
``(info, **args)``, so each GraphQL object is a small node class with methods for fields that take
arguments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, build_schema

from speckle_uploader.sandbox.processing import process_file_upload, process_ingestion
from speckle_uploader.sandbox.store import (
    NO_ACCESS,
    PUBLISH_DENIED,
    FileUpload,
    Flavor,
    Ingestion,
    Model,
    Project,
    SandboxError,
    Store,
    User,
)

SCHEMA_FILES = {
    Flavor.LEGACY: ("common.graphql",),
    Flavor.FILE_IMPORT: ("common.graphql", "presigned.graphql"),
    Flavor.CLOUD: ("common.graphql", "presigned.graphql", "cloud.graphql"),
}


def schema_sdl(flavor: Flavor) -> str:
    folder = resources.files("speckle_uploader.sandbox") / "schema"
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in SCHEMA_FILES[flavor])


FetchBlob = Callable[[str, str], Awaitable[None]]


@cache
def schema_for(flavor: Flavor) -> GraphQLSchema:
    return build_schema(schema_sdl(flavor))


class Context:
    """Per request: who is asking, and where the server lives (for upload URLs)."""

    def __init__(self, store: Store, user: User | None, base_url: str, sign_url: Any,
                 background: set[asyncio.Task[None]], fetch_blob: FetchBlob | None = None) -> None:
        self.store = store
        self.user = user
        self.base_url = base_url
        self.sign_url = sign_url  # (project_id, blob_id) -> presigned URL
        self.background = background  # the server's: simulated imports outlive the request
        self.fetch_blob = fetch_blob  # (project_id, blob_id): learn what external storage holds, before registering


def _error(exc: SandboxError) -> GraphQLError:
    return GraphQLError(exc.message, extensions={"code": exc.code})


def guarded(func: Any) -> Any:
    """Turn the store's ``SandboxError`` into a GraphQL error with the real ``extensions.code``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SandboxError as exc:
            raise _error(exc) from None

    return wrapper


def _ctx(info: GraphQLResolveInfo) -> Context:
    return info.context  # type: ignore[no-any-return]


def _page(items: list[Any], cursor: str | None, limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Cursor paging as the server does it: newest first, the cursor is the last item's sort key."""
    ordered = sorted(items, key=key, reverse=True)
    if cursor:
        ordered = [item for item in ordered if key(item) < cursor]
    page = ordered[:limit]
    next_cursor = key(page[-1]) if page and len(ordered) > limit else None
    return page, next_cursor


def _permission(ok: bool, message: str) -> dict[str, Any]:
    return {"authorized": ok, "code": "OK" if ok else "ProjectNotEnoughPermissions",
            "message": "OK" if ok else message, "payload": None, "errorMessage": None if ok else message}


class ModelNode:
    def __init__(self, model: Model, store: Store) -> None:
        self._model, self._store = model, store
        self.id = model.id
        self.name = model.name
        self.displayName = model.name.rsplit("/", 1)[-1]
        self.description = None
        self.createdAt = model.created_at
        self.updatedAt = model.updated_at
        self.projectId = model.project_id

    def _uploads(self) -> list[FileUpload]:
        return [u for u in self._store.uploads.values() if u.model_id == self.id]

    def pendingImportedVersions(self, info: GraphQLResolveInfo, limit: int = 25) -> list[dict[str, Any]]:
        pending = [u for u in self._uploads() if u.converted_status in (0, 1)]
        return [file_upload_node(u, self._store) for u in pending[:limit]]

    def latestIngestion(self, info: GraphQLResolveInfo) -> dict[str, Any] | None:
        mine = [i for i in self._store.ingestions.values() if i.model_id == self.id]
        return ingestion_node(mine[-1]) if mine else None  # the store keeps them in the order they began

    def version(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        if id not in self._model.versions:
            raise SandboxError("NOT_FOUND_ERROR", "Version not found")
        return version_node(self._model, id)

    def versions(self, info: GraphQLResolveInfo, limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
        newest_first = list(reversed(self._model.versions))
        start = int(cursor) if cursor and cursor.isdigit() else 0
        items = newest_first[start:start + max(0, min(limit, 100))]
        more = start + len(items) < len(newest_first)
        return {"totalCount": len(newest_first), "cursor": str(start + len(items)) if more else None,
                "items": [version_node(self._model, v) for v in items]}

    def uploads(self, info: GraphQLResolveInfo, input: dict[str, Any] | None = None) -> dict[str, Any]:
        args = input or {}
        limit = max(0, min(int(args.get("limit") or 25), 100))
        items, cursor = _page(self._uploads(), args.get("cursor"), limit, key=lambda u: u.upload_date)
        return {"totalCount": len(self._uploads()), "cursor": cursor,
                "items": [file_upload_node(u, self._store) for u in items]}


def version_node(model: Model, version_id: str) -> dict[str, Any]:
    return {"id": version_id, "message": model.messages.get(version_id), "sourceApplication": "sandbox-importer",
            "createdAt": model.created.get(version_id, model.updated_at)}


def file_upload_node(upload: FileUpload, store: Store) -> dict[str, Any]:
    model = store.projects[upload.project_id].models.get(upload.model_id or "")
    return {
        "id": upload.id, "projectId": upload.project_id, "streamId": upload.project_id,
        "modelName": upload.model_name, "branchName": upload.model_name, "modelId": upload.model_id,
        "convertedCommitId": upload.version_id, "convertedVersionId": upload.version_id,
        "userId": upload.user_id, "convertedStatus": upload.converted_status,
        "convertedMessage": upload.converted_message, "fileName": upload.file_name,
        "fileType": upload.file_name.rsplit(".", 1)[-1].lower(), "fileSize": upload.file_size,
        "uploadComplete": True, "uploadDate": upload.upload_date, "convertedLastUpdate": upload.last_update,
        "updatedAt": upload.last_update, "model": ModelNode(model, store) if model else None,
    }


_STATUS_TYPES = {
    "queued": ("ModelIngestionQueuedStatus", "progressMessage"),
    "processing": ("ModelIngestionProcessingStatus", "progressMessage"),
    "failed": ("ModelIngestionFailedStatus", "errorReason"),
    "timeout": ("ModelIngestionFailedStatus", "errorReason"),
    "cancelled": ("ModelIngestionCancelledStatus", "cancellationMessage"),
    "invalidInput": ("ModelIngestionInvalidStatus", "validationMessage"),
}


def ingestion_node(ingestion: Ingestion) -> dict[str, Any]:
    if ingestion.status == "success":
        status_data: dict[str, Any] = {"__typename": "ModelIngestionSuccessStatus", "status": "success",
                                       "versionId": ingestion.version_id}
    else:
        typename, message_field = _STATUS_TYPES[ingestion.status]
        status_data = {"__typename": typename, "status": ingestion.status, message_field: ingestion.message,
                       "progress": ingestion.progress, "errorStacktrace": None, "validationOptions": None}
    return {
        "id": ingestion.id, "projectId": ingestion.project_id, "modelId": ingestion.model_id,
        "userId": ingestion.user_id, "cancellationRequested": ingestion.cancellation_requested,
        "createdAt": ingestion.created_at, "updatedAt": ingestion.updated_at, "statusData": status_data,
    }


class ProjectNode:
    def __init__(self, project: Project, store: Store, user: User | None) -> None:
        self._project, self._store = project, store
        self.id = project.id
        self.name = project.name
        self.description = project.description or None
        self.visibility = "PRIVATE"
        self.role = project.roles.get(user.id) if user else None
        self.createdAt = project.created_at
        self.updatedAt = project.updated_at
        self.workspaceId = None
        publish = project.can_publish(user)
        self.permissions = {
            "canCreateModel": _permission(publish, PUBLISH_DENIED.replace("publish", "create models")),
            "canPublish": _permission(publish, PUBLISH_DENIED),
            "canRead": _permission(self.role is not None, NO_ACCESS),
            "canLoad": _permission(self.role is not None, NO_ACCESS),
        }

    def models(self, info: GraphQLResolveInfo, limit: int = 25, cursor: str | None = None,
               filter: dict[str, Any] | None = None) -> dict[str, Any]:
        search = ((filter or {}).get("search") or "").lower()
        matching = [m for m in self._project.models.values() if search in m.name]
        limit = max(1, min(limit, 500))
        items, next_cursor = _page(matching, cursor, limit, key=lambda m: m.updated_at + m.id)
        return {"totalCount": len(matching), "cursor": next_cursor,
                "items": [ModelNode(m, self._store) for m in items]}

    @guarded
    def model(self, info: GraphQLResolveInfo, id: str) -> ModelNode:
        return ModelNode(self._store.model(self._project, id), self._store)

    @guarded
    def modelByName(self, info: GraphQLResolveInfo, name: str) -> ModelNode:
        model = self._store.model_by_name(self._project, name)
        if model is None:
            raise SandboxError("MODEL_NOT_FOUND", "Model not found")
        return ModelNode(model, self._store)

    def ingestion(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        ingestion = self._store.ingestions.get(id)
        if ingestion is None or ingestion.project_id != self.id:
            return None
        return ingestion_node(ingestion)


class UserNode:
    def __init__(self, user: User, store: Store) -> None:
        self._user, self._store = user, store
        self.id, self.name, self.email, self.avatar = user.id, user.name, user.email, user.avatar
        self.role = "server:user"

    def projects(self, info: GraphQLResolveInfo, limit: int = 25, cursor: str | None = None,
                 filter: dict[str, Any] | None = None, sortBy: list[str] | None = None) -> dict[str, Any]:
        search = ((filter or {}).get("search") or "").lower()
        mine = [p for p in self._store.projects.values() if self._user.id in p.roles and search in p.name.lower()]
        limit = max(1, min(limit, 50))
        items, next_cursor = _page(mine, cursor, limit, key=lambda p: p.updated_at + p.id)
        return {"totalCount": len(mine), "numberOfHidden": 0, "cursor": next_cursor,
                "items": [ProjectNode(p, self._store, self._user) for p in items]}


class Query:
    def __init__(self, store: Store) -> None:
        self._store = store

    def serverInfo(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        store = self._store
        return {
            "name": f"Speckle Sandbox ({store.flavor.value})",
            "version": store.flavor.version,
            "canonicalUrl": _ctx(info).base_url,
            "configuration": {"objectSizeLimitBytes": 10 * 1024 * 1024,
                              "blobSizeLimitBytes": store.config.blob_size_limit_bytes, "featureFlags": {}},
        }

    def activeUser(self, info: GraphQLResolveInfo) -> UserNode | None:
        user = _ctx(info).user
        return UserNode(user, self._store) if user else None

    @guarded
    def project(self, info: GraphQLResolveInfo, id: str) -> ProjectNode:
        user = _ctx(info).user
        return ProjectNode(self._store.project(id, user), self._store, user)

    @guarded
    def stream(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        project = self._store.project(id, _ctx(info).user)
        store = self._store

        def file_upload(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
            upload = store.uploads.get(id)
            if upload is None or upload.project_id != project.id:
                return None
            return file_upload_node(upload, store)

        return {"id": project.id, "name": project.name, "fileUpload": file_upload}


class Mutation:
    def __init__(self, store: Store) -> None:
        self._store = store

    def modelMutations(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        store = self._store

        @guarded
        def create(info: GraphQLResolveInfo, input: dict[str, Any]) -> ModelNode:
            return ModelNode(store.create_model(input["projectId"], input["name"], _ctx(info).user), store)

        @guarded
        def delete(info: GraphQLResolveInfo, input: dict[str, Any]) -> bool:
            return store.delete_model(input["projectId"], input["id"], _ctx(info).user)

        return {"create": create, "delete": delete}

    def versionMutations(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        store = self._store

        @guarded
        def update(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
            model, version_id = store.update_version_message(input["projectId"], input["versionId"],
                                                             input.get("message"), _ctx(info).user)
            return version_node(model, version_id)

        return {"update": update}

    def fileUploadMutations(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        store = self._store

        @guarded
        def generateUploadUrl(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
            ctx = _ctx(info)
            blob = store.new_blob(input["projectId"], input["fileName"], ctx.user)
            azure = store.config.azure
            blob_type = azure.blob_type_header if azure is not None else store.flavor is Flavor.CLOUD
            headers = [{"header": "x-ms-blob-type", "value": "BlockBlob"}] if blob_type else []
            return {"url": ctx.sign_url(blob.project_id, blob.id), "fileId": blob.id,
                    "additionalRequestHeaders": headers}

        @guarded
        def startFileImport(info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
            ctx = _ctx(info)
            if store.flavor is Flavor.CLOUD:
                # On the cloud since 2026.9 the old mutation refuses every file.
                raise SandboxError("UNSUPPORTED_FILE_TYPE", "The provided file type is not supported for importing.")

            def register() -> dict[str, Any]:
                upload = store.start_file_import(input["projectId"], input["modelId"], input["fileId"], input["etag"],
                                                 ctx.user)
                _spawn(ctx, process_file_upload(store, upload))
                return file_upload_node(upload, store)

            return _after_fetch(ctx, input, register)

        @guarded
        def startFileIngestion(info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
            ctx = _ctx(info)

            def register() -> dict[str, Any]:
                ingestion = store.start_file_ingestion(input["projectId"], input["modelId"], input["fileId"],
                                                       input["etag"], ctx.user)
                _spawn(ctx, process_ingestion(store, ingestion))
                return ingestion_node(ingestion)

            return _after_fetch(ctx, input, register)

        return {"generateUploadUrl": generateUploadUrl, "startFileImport": startFileImport,
                "startFileIngestion": startFileIngestion}

    def projectMutations(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        store = self._store

        @guarded
        def requestCancellation(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
            ingestion = store.request_cancellation(input["projectId"], input["ingestionId"],
                                                   input["cancellationMessage"], _ctx(info).user)
            return ingestion_node(ingestion)

        return {"modelIngestionMutations": {"requestCancellation": requestCancellation}}


def _after_fetch(ctx: Context, input: dict[str, Any], register: Callable[[], dict[str, Any]]) -> Any:
    """``register()`` at once, or, where the bytes live in external storage, once they have been looked at."""
    fetch = ctx.fetch_blob
    if fetch is None:
        return register()

    async def later() -> dict[str, Any]:
        await fetch(str(input["projectId"]), str(input["fileId"]))
        try:
            return register()
        except SandboxError as exc:
            raise _error(exc) from None

    return later()


def _spawn(ctx: Context, coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    ctx.background.add(task)
    task.add_done_callback(ctx.background.discard)

