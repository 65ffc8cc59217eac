"""One interface over the three ways a Speckle server takes a file.

- cloud: ``generateUploadUrl`` -> PUT (with ``additionalRequestHeaders``) -> ``startFileIngestion`` ->
  ``project.ingestion(id).statusData``; processing can be cancelled.
- file import (open-source 2.25.8+): ``generateUploadUrl`` -> PUT -> ``startFileImport`` ->
  ``FileUpload.convertedStatus``.
- legacy REST (older open-source): ``POST /api/file/...`` -> ``FileUpload.convertedStatus``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speckle_uploader.speckle import operations as ops
from speckle_uploader.speckle.answers import WAITING_FOR_IMPORT, file_upload_status, ingestion_status
from speckle_uploader.speckle.blob import ProgressCallback, Throttle, put_blob
from speckle_uploader.speckle.client import SpeckleClient
from speckle_uploader.speckle.errors import CancellationRefusedError, SpeckleError, UnexpectedResponseError
from speckle_uploader.speckle.legacy_rest import upload_legacy
from speckle_uploader.speckle.models import RemoteState, RemoteStatus, ServerKind
from speckle_uploader.speckle.subscriptions import SubscriptionClient

__all__ = ["IngestionBackend", "Submission", "Target", "backend_for", "file_upload_status", "ingestion_status"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    project_id: str
    model_id: str
    model_name: str


@dataclass(frozen=True)
class StoredFile:
    """Bytes the server's storage holds; ``etag`` is None where upload and registration were one request."""

    file_id: str
    etag: str | None


@dataclass(frozen=True)
class Submission:
    """A registered upload: what to follow on the server."""

    file_id: str
    tracking_id: str  # ingestion id on the cloud, FileUpload id elsewhere
    status: RemoteStatus


StatusCallback = Callable[[RemoteStatus], None]


class IngestionBackend(ABC):
    kind: ServerKind
    can_cancel_processing = False

    def __init__(self, client: SpeckleClient, live: SubscriptionClient | None = None) -> None:
        self.client = client
        self.live = live  # live updates, where the server lets us have them
        self.throttle: Throttle | None = None  # every chunk of every upload waits on it (a speed limit)

    @property
    def live_connected(self) -> bool:
        return self.live is not None and self.live.connected

    def on_live_change(self, listener: Callable[[bool], None]) -> None:
        """Have ``listener`` told when live updates come or go (followers then poll more or less)."""
        if self.live is not None:
            self.live.connection_listeners.append(listener)

    def watch(self, submission: Submission, target: Target, on_status: StatusCallback) -> Callable[[], None]:
        """Have ``on_status`` called with every status the server pushes; returns how to stop."""
        return lambda: None

    @abstractmethod
    async def store(self, path: Path, size: int, target: Target, on_progress: ProgressCallback) -> StoredFile:
        """Send the file's bytes."""

    @abstractmethod
    async def register(self, stored: StoredFile, target: Target) -> Submission:
        """Tell the server the bytes are there and should become a version."""

    @abstractmethod
    async def status(self, submission: Submission, target: Target) -> RemoteStatus:
        """Where the server's processing stands."""

    async def cancel(self, submission: Submission, target: Target) -> RemoteStatus:
        raise CancellationRefusedError(
            "This server cannot stop a file once it is processing; the version will still be created."
        )


class _PresignedBackend(IngestionBackend):
    cloud = False

    async def store(self, path: Path, size: int, target: Target, on_progress: ProgressCallback) -> StoredFile:
        upload = await self.client.generate_upload_url(target.project_id, path.name, cloud=self.cloud)
        http = self.client.http
        receipt = await put_blob(
            http.blob_client, upload.url, path, size,
            headers=upload.additional_headers, on_progress=on_progress, rules=http.blob_rules,
            throttle=self.throttle,
        )
        return StoredFile(file_id=upload.file_id, etag=receipt.etag)


class CloudIngestionBackend(_PresignedBackend):
    kind = ServerKind.CLOUD_INGESTION
    can_cancel_processing = True
    cloud = True

    def watch(self, submission: Submission, target: Target, on_status: StatusCallback) -> Callable[[], None]:
        live = self.live
        if live is None:
            return lambda: None
        variables = {"input": {"projectId": target.project_id,
                               "ingestionReference": {"ingestionId": submission.tracking_id}}}

        def pushed(data: dict[str, Any]) -> None:
            update = data.get("projectModelIngestionUpdated")
            try:
                status = ingestion_status(update.get("modelIngestion") if isinstance(update, dict) else None)
            except SpeckleError as exc:  # a pushed update we do not understand: polling still follows it
                log.info("ignored a live update: %s", exc)
                return
            on_status(status)

        op_id = live.subscribe(ops.INGESTION_UPDATED, variables, pushed)
        return lambda: live.unsubscribe(op_id)

    async def register(self, stored: StoredFile, target: Target) -> Submission:
        ingestion = await self.client.start_file_ingestion(
            target.project_id, target.model_id, stored.file_id, stored.etag or ""
        )
        if not ingestion.id:
            raise UnexpectedResponseError("The server's answer was not understood (the ingestion has no id).")
        return Submission(stored.file_id, ingestion.id, ingestion_status(ingestion))

    async def status(self, submission: Submission, target: Target) -> RemoteStatus:
        return ingestion_status(await self.client.ingestion(target.project_id, submission.tracking_id))

    async def cancel(self, submission: Submission, target: Target) -> RemoteStatus:
        ingestion = await self.client.request_ingestion_cancellation(
            target.project_id, submission.tracking_id, "Cancelled in Speckle Uploader"
        )
        return ingestion_status(ingestion)


class _ProjectUploadsWatch(IngestionBackend):
    """Open-source servers push every upload of a project on one subscription; route them by upload id."""

    def __init__(self, client: SpeckleClient, live: SubscriptionClient | None = None) -> None:
        super().__init__(client, live)
        self._routes: dict[str, dict[str, StatusCallback]] = {}
        self._operations: dict[str, str] = {}

    def watch(self, submission: Submission, target: Target, on_status: StatusCallback) -> Callable[[], None]:
        live = self.live
        if live is None:
            return lambda: None
        project_id = target.project_id
        routes = self._routes.setdefault(project_id, {})
        routes[submission.tracking_id] = on_status
        if project_id not in self._operations:
            self._operations[project_id] = live.subscribe(
                ops.PENDING_VERSIONS_UPDATED, {"projectId": project_id},
                lambda data: self._route(routes, data.get("projectPendingVersionsUpdated")))

        def stop() -> None:
            routes.pop(submission.tracking_id, None)
            if not routes and project_id in self._operations:
                live.unsubscribe(self._operations.pop(project_id))

        return stop

    @staticmethod
    def _route(routes: dict[str, StatusCallback], message: Any) -> None:
        callback = routes.get(str(message.get("id"))) if isinstance(message, dict) else None
        if callback is None:
            return
        try:
            status = file_upload_status(message.get("version"))
        except SpeckleError as exc:  # a pushed update we do not understand: polling still follows it
            log.info("ignored a live update: %s", exc)
            return
        callback(status)


class FileImportBackend(_PresignedBackend, _ProjectUploadsWatch):
    kind = ServerKind.FILE_IMPORT

    async def register(self, stored: StoredFile, target: Target) -> Submission:
        upload = await self.client.start_file_import(
            target.project_id, target.model_id, stored.file_id, stored.etag or ""
        )
        if not upload.id:
            raise UnexpectedResponseError("The server's answer was not understood (the upload has no id).")
        return Submission(stored.file_id, upload.id, file_upload_status(upload))

    async def status(self, submission: Submission, target: Target) -> RemoteStatus:
        return file_upload_status(await self.client.file_upload(target.project_id, submission.tracking_id))


class LegacyRestBackend(_ProjectUploadsWatch):
    kind = ServerKind.LEGACY_REST

    async def store(self, path: Path, size: int, target: Target, on_progress: ProgressCallback) -> StoredFile:
        blob_id = await upload_legacy(self.client.http, target.project_id, target.model_name, path, size, on_progress,
                                      throttle=self.throttle)
        return StoredFile(file_id=blob_id, etag=None)

    async def register(self, stored: StoredFile, target: Target) -> Submission:
        # The POST already registered it and queued the import.
        return Submission(stored.file_id, stored.file_id, RemoteStatus(RemoteState.QUEUED, WAITING_FOR_IMPORT))

    async def status(self, submission: Submission, target: Target) -> RemoteStatus:
        return file_upload_status(await self.client.file_upload(target.project_id, submission.tracking_id))


def backend_for(kind: ServerKind, client: SpeckleClient, live: SubscriptionClient | None = None) -> IngestionBackend:
    """The one place that maps a kind of server to how it takes files: add a server kind here."""
    backends: dict[ServerKind, type[IngestionBackend]] = {
        ServerKind.CLOUD_INGESTION: CloudIngestionBackend,
        ServerKind.FILE_IMPORT: FileImportBackend,
        ServerKind.LEGACY_REST: LegacyRestBackend,
    }
    return backends[kind](client, live)
