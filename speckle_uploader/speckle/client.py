"""Typed Speckle operations over one ``SpeckleHttp`` connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from speckle_uploader.speckle import answers
from speckle_uploader.speckle import operations as ops
from speckle_uploader.speckle.errors import (
    InvalidTokenError,
    ModelNotFoundError,
    ProjectNotFoundError,
    SpeckleError,
    UnexpectedResponseError,
)
from speckle_uploader.speckle.http import SpeckleHttp
from speckle_uploader.speckle.models import Model, Page, Project, ServerInfo, UploadUrl, User
from speckle_uploader.text import unicode_text

log = logging.getLogger(__name__)
T = TypeVar("T")
PROJECTS_PAGE_LIMIT = 50  # the server clamps User.projects to 1..50
MODELS_PAGE_LIMIT = 100
MAX_PAGES = 1000  # 50,000 projects or 100,000 models: more is a server that does not stop


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
        info = (await self.http.query(answers.ServerInfoAnswer, ops.SERVER_INFO)).server_info
        probe = await self.http.query(answers.ProbeAnswer, ops.UPLOAD_API_PROBE)
        return ServerInfo(
            url=self.server_url,
            name=answers.text(info.name) or self.http.host,
            version=answers.text(info.version, 50) if info.version else None,
            blob_size_limit_bytes=info.configuration.blob_size_limit_bytes,
            kind=probe.kind(),
        )

    async def active_user(self) -> User:
        user = (await self.http.query(answers.ActiveUserAnswer, ops.ACTIVE_USER)).active_user
        if user is None:
            raise InvalidTokenError(
                f"{self.http.host} does not know who this token belongs to (it lacks the profile:read scope?)."
            )
        return user.user()

    async def projects(self, *, search: str | None = None, cursor: str | None = None,
                       limit: int = PROJECTS_PAGE_LIMIT) -> Page[Project]:
        variables: dict[str, Any] = {"limit": limit, "cursor": cursor, "filter": {"search": search or None}}
        user = (await self.http.query(answers.UserProjectsAnswer, ops.USER_PROJECTS, variables)).active_user
        if user is None:
            raise InvalidTokenError(f"{self.http.host} did not accept the token for listing projects.")
        return user.projects.page()

    async def all_projects(self, *, search: str | None = None) -> AsyncIterator[Project]:
        """Every project, page after page, until the server says there are no more (or repeats itself)."""
        seen: set[str] = set()
        async for page in follow_pages(lambda cursor: self.projects(search=search, cursor=cursor)):
            for project in page.items:
                if project.id not in seen:
                    seen.add(project.id)
                    yield project

    async def project(self, project_id: str) -> Project:
        try:
            project = (await self.http.query(answers.ProjectAnswer, ops.PROJECT, {"projectId": project_id})).project
        except ProjectNotFoundError as exc:
            raise ProjectNotFoundError(f"There is no project {project_id} on {self.http.host}.",
                                       server_message=exc.server_message, code=exc.code) from None
        if project is None:
            raise ProjectNotFoundError(f"Project {project_id} was not found on {self.http.host}.")
        return project.project()

    async def models(self, project_id: str, *, search: str | None = None, cursor: str | None = None,
                     limit: int = MODELS_PAGE_LIMIT) -> Page[Model]:
        answer = await self.http.query(
            answers.ProjectModelsAnswer, ops.PROJECT_MODELS,
            {"projectId": project_id, "limit": limit, "cursor": cursor, "search": search or None},
        )
        return answer.project.models.page()

    async def find_model(self, project_id: str, name: str) -> Model | None:
        """The model named ``name`` (case-insensitive, as the server lower-cases names), or None."""
        wanted = unicode_text(name).strip().lower()  # as the server got it (see http.wire_safe)
        async for page in follow_pages(lambda cursor: self.models(project_id, search=wanted, cursor=cursor)):
            for model in page.items:
                if model.name.lower() == wanted:
                    return model
        return None

    async def create_model(self, project_id: str, name: str) -> Model:
        answer = await self.http.query(answers.CreateModelAnswer, ops.CREATE_MODEL,
                                       {"input": {"projectId": project_id, "name": name}})
        return answer.model_mutations.create.model()

    async def set_version_message(self, project_id: str, version_id: str, message: str) -> str:
        """Set the message shown beside a version; returns the message the server kept."""
        answer = await self.http.query(answers.UpdateVersionAnswer, ops.UPDATE_VERSION,
                                       {"input": {"projectId": project_id, "versionId": version_id,
                                                  "message": message}})
        return answers.text(answer.version_mutations.update.message, 2000)

    async def find_or_create_model(self, project_id: str, name: str) -> Model:
        return (await self.find_or_create_model_noting(project_id, name))[0]

    async def find_or_create_model_noting(self, project_id: str, name: str) -> tuple[Model, bool]:
        """The model, and whether this call created it (one found, even after losing a race, was not)."""
        model = await self.find_model(project_id, name)
        if model is not None:
            return model, False
        try:
            return await self.create_model(project_id, name), True
        except SpeckleError as exc:
            # Another uploader may have created it between our look-up and our create.
            if exc.code == "BRANCH_CREATE_ERROR":
                model = await self.find_model(project_id, name)
                if model is not None:
                    return model, False
            raise

    async def model_is_empty(self, project_id: str, model_id: str, *, cloud: bool) -> bool:
        """The model has no version and no import on its way (pending upload or unfinished ingestion)."""
        document = ops.MODEL_CONTENTS_CLOUD if cloud else ops.MODEL_CONTENTS
        answer = await self.http.query(answers.ModelContentsAnswer, document,
                                       {"projectId": project_id, "modelId": model_id})
        return answer.project.model.is_empty

    async def delete_model(self, project_id: str, model_id: str) -> bool:
        """Delete a model (with all it holds: callers check first that it is empty); the server's yes or no."""
        answer = await self.http.query(answers.DeleteModelAnswer, ops.DELETE_MODEL,
                                       {"input": {"projectId": project_id, "id": model_id}})
        return answer.model_mutations.delete

    async def generate_upload_url(self, project_id: str, file_name: str, *, cloud: bool) -> UploadUrl:
        document = ops.GENERATE_UPLOAD_URL_CLOUD if cloud else ops.GENERATE_UPLOAD_URL
        answer = await self.http.query(answers.GenerateUploadUrlAnswer, document,
                                       {"input": {"projectId": project_id, "fileName": file_name}})
        out = answer.file_upload_mutations.generate_upload_url
        headers = {h.header: h.value for h in out.additional_request_headers or []}
        return UploadUrl(url=out.url, file_id=out.file_id, additional_headers=headers)

    async def start_file_import(self, project_id: str, model_id: str, file_id: str,
                                etag: str) -> answers.FileUploadNode:
        answer = await self.http.query(answers.StartAnswer, ops.START_FILE_IMPORT,
                                       {"input": _register_input(project_id, model_id, file_id, etag)})
        return _present(answer.file_upload_mutations.start_file_import, "startFileImport")

    async def start_file_ingestion(self, project_id: str, model_id: str, file_id: str,
                                   etag: str) -> answers.IngestionNode:
        answer = await self.http.query(answers.StartAnswer, ops.START_FILE_INGESTION,
                                       {"input": _register_input(project_id, model_id, file_id, etag)})
        return _present(answer.file_upload_mutations.start_file_ingestion, "startFileIngestion")

    async def ingestion(self, project_id: str, ingestion_id: str) -> answers.IngestionNode:
        answer = await self.http.query(answers.IngestionAnswer, ops.INGESTION_STATUS,
                                       {"projectId": project_id, "ingestionId": ingestion_id})
        if answer.project.ingestion is None:
            raise ModelNotFoundError(f"The server no longer knows ingestion {ingestion_id}.")
        return answer.project.ingestion

    async def request_ingestion_cancellation(self, project_id: str, ingestion_id: str,
                                             message: str) -> answers.IngestionNode:
        answer = await self.http.query(
            answers.CancelAnswer, ops.REQUEST_INGESTION_CANCELLATION,
            {"input": {"projectId": project_id, "ingestionId": ingestion_id, "cancellationMessage": message}},
        )
        return answer.project_mutations.model_ingestion_mutations.request_cancellation

    async def file_upload(self, project_id: str, file_id: str) -> answers.FileUploadNode:
        answer = await self.http.query(answers.FileUploadAnswer, ops.FILE_UPLOAD_STATUS,
                                       {"projectId": project_id, "fileId": file_id})
        if answer.stream is None:
            raise ProjectNotFoundError(f"Project {project_id} was not found on {self.http.host}.")
        if answer.stream.file_upload is None:
            raise UnexpectedResponseError(f"The server does not know upload {file_id} (yet).")
        return answer.stream.file_upload


async def follow_pages(fetch: Callable[[str | None], Awaitable[Page[T]]],
                       max_pages: int = MAX_PAGES) -> AsyncIterator[Page[T]]:
    """Pages from ``fetch(cursor)`` until the last; a server that repeats a cursor, or never stops, is
    stopped after ``max_pages`` (a loop must end, whatever the server says)."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page = await fetch(cursor)
        yield page
        if not page.cursor or not page.items or page.cursor in seen:
            return
        seen.add(page.cursor)
        cursor = page.cursor
    log.warning("stopped paging after %d pages: the server kept sending more", max_pages)


def _register_input(project_id: str, model_id: str, file_id: str, etag: str) -> dict[str, str]:
    return {"projectId": project_id, "modelId": model_id, "fileId": file_id, "etag": etag}


def _present(value: T | None, field: str) -> T:
    if value is None:
        raise UnexpectedResponseError(f"The server's answer was not understood ('{field}' is missing).")
    return value
