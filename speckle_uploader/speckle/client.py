"""Typed Speckle operations over one ``SpeckleHttp`` connection."""

from __future__ import annotations

from typing import Any

from speckle_uploader.speckle import operations as ops
from speckle_uploader.speckle.errors import (
    InvalidTokenError,
    ModelNotFoundError,
    ProjectNotFoundError,
    SpeckleError,
    UnexpectedResponseError,
)
from speckle_uploader.speckle.http import SpeckleHttp
from speckle_uploader.speckle.models import (
    Model,
    Page,
    Permission,
    Project,
    ServerInfo,
    ServerKind,
    UploadUrl,
    User,
)

PROJECTS_PAGE_LIMIT = 50  # the server clamps User.projects to 1..50
MODELS_PAGE_LIMIT = 100


class SpeckleClient:
    """What the app asks of a Speckle server. One instance per server and token; close it when done."""

    def __init__(self, server_url: str, token: str | None, *, http: SpeckleHttp | None = None) -> None:
        self.http = http or SpeckleHttp(server_url, token)

    @property
    def server_url(self) -> str:
        return self.http.server_url

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> SpeckleClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def server_info(self) -> ServerInfo:
        """Server name, version, size limit and which upload API it offers."""
        data = await self.http.graphql(ops.SERVER_INFO)
        probe = await self.http.graphql(ops.UPLOAD_API_PROBE)
        info = _get(data, "serverInfo", dict)
        config = _get(info, "configuration", dict)
        return ServerInfo(
            url=self.server_url,
            name=str(info.get("name") or self.http.host),
            version=info.get("version"),
            blob_size_limit_bytes=int(_get(config, "blobSizeLimitBytes", int)),
            kind=kind_from_probe(probe),
        )

    async def active_user(self) -> User:
        data = await self.http.graphql(ops.ACTIVE_USER)
        user = data.get("activeUser")
        if not user:
            raise InvalidTokenError(
                f"{self.http.host} does not know who this token belongs to (it lacks the profile:read scope?)."
            )
        return User(id=user["id"], name=user["name"], email=user.get("email"), avatar=user.get("avatar"))

    async def projects(self, *, search: str | None = None, cursor: str | None = None,
                       limit: int = PROJECTS_PAGE_LIMIT) -> Page[Project]:
        variables: dict[str, Any] = {"limit": limit, "cursor": cursor, "filter": {"search": search or None}}
        data = await self.http.graphql(ops.USER_PROJECTS, variables)
        user = data.get("activeUser")
        if not user:
            raise InvalidTokenError(f"{self.http.host} did not accept the token for listing projects.")
        collection = _get(user, "projects", dict)
        return Page(
            items=[_project(item) for item in collection["items"]],
            cursor=collection.get("cursor"),
            total_count=int(collection.get("totalCount") or 0),
        )

    async def project(self, project_id: str) -> Project:
        try:
            data = await self.http.graphql(ops.PROJECT, {"projectId": project_id})
        except ProjectNotFoundError as exc:
            raise ProjectNotFoundError(f"There is no project {project_id} on {self.http.host}.",
                                       server_message=exc.server_message, code=exc.code) from None
        project = data.get("project")
        if not project:
            raise ProjectNotFoundError(f"Project {project_id} was not found on {self.http.host}.")
        return _project(project)

    async def models(self, project_id: str, *, search: str | None = None, cursor: str | None = None,
                     limit: int = MODELS_PAGE_LIMIT) -> Page[Model]:
        data = await self.http.graphql(
            ops.PROJECT_MODELS, {"projectId": project_id, "limit": limit, "cursor": cursor, "search": search or None}
        )
        collection = _get(_get(data, "project", dict), "models", dict)
        return Page(
            items=[_model(item) for item in collection["items"]],
            cursor=collection.get("cursor"),
            total_count=int(collection.get("totalCount") or 0),
        )

    async def find_model(self, project_id: str, name: str) -> Model | None:
        """The model named ``name`` (case-insensitive, as the server lower-cases names), or None."""
        wanted = name.strip().lower()
        cursor: str | None = None
        while True:
            page = await self.models(project_id, search=wanted, cursor=cursor)
            for model in page.items:
                if model.name.lower() == wanted:
                    return model
            if not page.cursor or not page.items:
                return None
            cursor = page.cursor

    async def create_model(self, project_id: str, name: str) -> Model:
        data = await self.http.graphql(ops.CREATE_MODEL, {"input": {"projectId": project_id, "name": name}})
        return _model(_get(_get(data, "modelMutations", dict), "create", dict))

    async def set_version_message(self, project_id: str, version_id: str, message: str) -> str:
        """Set the message shown beside a version; returns the message the server kept."""
        data = await self.http.graphql(ops.UPDATE_VERSION, {"input": {"projectId": project_id, "versionId": version_id,
                                                                       "message": message}})
        version = _get(_get(data, "versionMutations", dict), "update", dict)
        return str(version.get("message") or "")

    async def find_or_create_model(self, project_id: str, name: str) -> Model:
        model = await self.find_model(project_id, name)
        if model is not None:
            return model
        try:
            return await self.create_model(project_id, name)
        except SpeckleError as exc:
            # Another uploader may have created it between our look-up and our create.
            if exc.code == "BRANCH_CREATE_ERROR":
                model = await self.find_model(project_id, name)
                if model is not None:
                    return model
            raise

    async def generate_upload_url(self, project_id: str, file_name: str, *, cloud: bool) -> UploadUrl:
        document = ops.GENERATE_UPLOAD_URL_CLOUD if cloud else ops.GENERATE_UPLOAD_URL
        data = await self.http.graphql(document, {"input": {"projectId": project_id, "fileName": file_name}})
        out = _get(_get(data, "fileUploadMutations", dict), "generateUploadUrl", dict)
        headers = {h["header"]: h["value"] for h in out.get("additionalRequestHeaders") or []}
        return UploadUrl(url=str(out["url"]), file_id=str(out["fileId"]), additional_headers=headers)

    async def start_file_import(self, project_id: str, model_id: str, file_id: str, etag: str) -> dict[str, Any]:
        data = await self.http.graphql(
            ops.START_FILE_IMPORT, {"input": _register_input(project_id, model_id, file_id, etag)}
        )
        return dict(_get(_get(data, "fileUploadMutations", dict), "startFileImport", dict))

    async def start_file_ingestion(self, project_id: str, model_id: str, file_id: str, etag: str) -> dict[str, Any]:
        data = await self.http.graphql(
            ops.START_FILE_INGESTION, {"input": _register_input(project_id, model_id, file_id, etag)}
        )
        return dict(_get(_get(data, "fileUploadMutations", dict), "startFileIngestion", dict))

    async def ingestion(self, project_id: str, ingestion_id: str) -> dict[str, Any]:
        data = await self.http.graphql(ops.INGESTION_STATUS, {"projectId": project_id, "ingestionId": ingestion_id})
        ingestion = _get(data, "project", dict).get("ingestion")
        if not ingestion:
            raise ModelNotFoundError(f"The server no longer knows ingestion {ingestion_id}.")
        return dict(ingestion)

    async def request_ingestion_cancellation(self, project_id: str, ingestion_id: str, message: str) -> dict[str, Any]:
        data = await self.http.graphql(
            ops.REQUEST_INGESTION_CANCELLATION,
            {"input": {"projectId": project_id, "ingestionId": ingestion_id, "cancellationMessage": message}},
        )
        mutations = _get(_get(data, "projectMutations", dict), "modelIngestionMutations", dict)
        return dict(_get(mutations, "requestCancellation", dict))

    async def file_upload(self, project_id: str, file_id: str) -> dict[str, Any]:
        data = await self.http.graphql(ops.FILE_UPLOAD_STATUS, {"projectId": project_id, "fileId": file_id})
        stream = data.get("stream")
        if not stream:
            raise ProjectNotFoundError(f"Project {project_id} was not found on {self.http.host}.")
        upload = stream.get("fileUpload")
        if not upload:
            raise UnexpectedResponseError(f"The server does not know upload {file_id} (yet).")
        return dict(upload)


def kind_from_probe(probe: dict[str, Any]) -> ServerKind:
    described = probe.get("__type")
    if not described:
        return ServerKind.LEGACY_REST
    names = {field["name"] for field in described.get("fields") or []}
    if "startFileIngestion" in names:
        return ServerKind.CLOUD_INGESTION
    if "generateUploadUrl" in names and "startFileImport" in names:
        return ServerKind.FILE_IMPORT
    return ServerKind.LEGACY_REST


def _register_input(project_id: str, model_id: str, file_id: str, etag: str) -> dict[str, str]:
    return {"projectId": project_id, "modelId": model_id, "fileId": file_id, "etag": etag}


def _permission(node: Any) -> Permission:
    if not isinstance(node, dict):
        return Permission(authorized=False, message="The server did not say.")
    return Permission(authorized=bool(node.get("authorized")), message=str(node.get("message") or ""))


def _project(node: dict[str, Any]) -> Project:
    permissions = node.get("permissions") or {}
    return Project(
        id=str(node["id"]),
        name=str(node["name"]),
        role=node.get("role"),
        can_publish=_permission(permissions.get("canPublish")),
        can_create_model=_permission(permissions.get("canCreateModel")),
        updated_at=node.get("updatedAt"),
    )


def _model(node: dict[str, Any]) -> Model:
    return Model(
        id=str(node["id"]),
        name=str(node["name"]),
        display_name=str(node.get("displayName") or node["name"]),
        updated_at=node.get("updatedAt"),
    )


def _get(node: Any, key: str, kind: type) -> Any:
    """``node[key]`` checked to be of ``kind``, else a clear error (a server that answers oddly)."""
    value = node.get(key) if isinstance(node, dict) else None
    if not isinstance(value, kind):
        raise UnexpectedResponseError(f"The server's answer lacks '{key}': is this a Speckle server?")
    return value
