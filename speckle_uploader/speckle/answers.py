"""What each operation's answer must look like, checked where it enters the app (msgspec schemas).

A server is untrusted: an answer that does not fit its schema (a string where an object belongs, a user
without a name, a negative size limit, nesting deep enough to exhaust the stack) becomes one
``UnexpectedResponseError`` "the server's answer was not understood", never a ``KeyError`` or a traceback.
Every string that comes out of here is plain text: control characters removed, secrets masked, cut short.

msgspec rather than pydantic: it validates the same way, and adds about 0.5 MB to the app bundle where
pydantic-core adds about 7 MB (the bundle has a size budget, tests/test_bundle.py).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from speckle_uploader.speckle.errors import UnexpectedResponseError
from speckle_uploader.speckle.models import (
    Model,
    Page,
    Permission,
    Project,
    RemoteState,
    RemoteStatus,
    ServerKind,
    User,
)
from speckle_uploader.text import clean_server_text

T = TypeVar("T")

NAME_MAX = 300  # characters of a name shown anywhere (a project, a model, a user)
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
# serverInfo.configuration.blobSizeLimitBytes is a GraphQL Int; zero, a negative or an absurd limit is a
# server we do not understand, not a limit to show as "-5 bytes".
SizeLimit = Annotated[int, msgspec.Meta(ge=1, le=2**40)]


class _Node(msgspec.Struct, rename="camel", kw_only=True):
    """Unknown fields are ignored (servers add them); missing required ones are refused."""


def understand(value: Any, kind: type[T], where: str) -> T:
    """``value`` as ``kind``, or the one error for an answer that does not fit."""
    try:
        return msgspec.convert(value, kind)
    except (msgspec.ValidationError, RecursionError) as exc:
        detail = clean_server_text(exc, 200)
        raise UnexpectedResponseError(f"The server's answer was not understood ({where}: {detail}).",
                                      server_message=detail) from None


def text(value: str | None, max_len: int = NAME_MAX) -> str:
    return clean_server_text(value or "", max_len)


# -- sign-in ---------------------------------------------------------------------------------------
class UserNode(_Node):
    id: Id
    name: str
    email: str | None = None
    avatar: str | None = None

    def user(self) -> User:
        return User(id=self.id, name=text(self.name), email=text(self.email) if self.email else None,
                    avatar=self.avatar if self.avatar and len(self.avatar) < 100_000 else None)


class ActiveUserAnswer(_Node):
    active_user: UserNode | None = None


class Configuration(_Node):
    blob_size_limit_bytes: SizeLimit


class ServerInfoNode(_Node):
    configuration: Configuration
    name: str | None = None
    version: str | None = None


class ServerInfoAnswer(_Node):
    server_info: ServerInfoNode


class FieldName(_Node):
    name: str


class TypeNode(_Node):
    fields: list[FieldName] | None = None


class ProbeAnswer(msgspec.Struct, kw_only=True):
    type: TypeNode | None = msgspec.field(default=None, name="__type")

    def kind(self) -> ServerKind:
        if self.type is None:
            return ServerKind.LEGACY_REST
        names = {field.name for field in self.type.fields or []}
        if "startFileIngestion" in names:
            return ServerKind.CLOUD_INGESTION
        if "generateUploadUrl" in names and "startFileImport" in names:
            return ServerKind.FILE_IMPORT
        return ServerKind.LEGACY_REST


# -- projects and models ---------------------------------------------------------------------------
class PermissionNode(_Node):
    authorized: bool = False
    message: str | None = None

    def permission(self) -> Permission:
        return Permission(authorized=self.authorized, message=text(self.message))


_UNSAID = PermissionNode(authorized=False, message="The server did not say.")


class Permissions(_Node):
    can_publish: PermissionNode | None = None
    can_create_model: PermissionNode | None = None


class ProjectNode(_Node):
    id: Id
    name: str
    role: str | None = None
    updated_at: str | None = None
    permissions: Permissions | None = None

    def project(self) -> Project:
        permissions = self.permissions or Permissions()
        return Project(id=self.id, name=text(self.name), role=text(self.role, 50) if self.role else None,
                       can_publish=(permissions.can_publish or _UNSAID).permission(),
                       can_create_model=(permissions.can_create_model or _UNSAID).permission(),
                       updated_at=text(self.updated_at, 50) if self.updated_at else None)


class ProjectCollection(_Node):
    items: list[ProjectNode]
    cursor: str | None = None
    total_count: int | None = None

    def page(self) -> Page[Project]:
        return Page([item.project() for item in self.items], self.cursor, max(0, self.total_count or 0))


class ProjectsUser(_Node):
    projects: ProjectCollection


class UserProjectsAnswer(_Node):
    active_user: ProjectsUser | None = None


class ProjectAnswer(_Node):
    project: ProjectNode | None = None


class ModelNode(_Node):
    id: Id
    name: str
    display_name: str | None = None
    updated_at: str | None = None

    def model(self) -> Model:
        return Model(id=self.id, name=text(self.name), display_name=text(self.display_name or self.name),
                     updated_at=text(self.updated_at, 50) if self.updated_at else None)


class ModelCollection(_Node):
    items: list[ModelNode]
    cursor: str | None = None
    total_count: int | None = None

    def page(self) -> Page[Model]:
        return Page([item.model() for item in self.items], self.cursor, max(0, self.total_count or 0))


class ModelsProject(_Node):
    models: ModelCollection


class ProjectModelsAnswer(_Node):
    project: ModelsProject


class ModelMutations(_Node):
    create: ModelNode


class CreateModelAnswer(_Node):
    model_mutations: ModelMutations


class ModelMutationsDelete(_Node):
    delete: bool


class DeleteModelAnswer(_Node):
    model_mutations: ModelMutationsDelete


class CountNode(_Node):
    total_count: Annotated[int, msgspec.Meta(ge=0)]


class PendingUpload(_Node):
    id: Id


class TypeName(msgspec.Struct, kw_only=True):
    typename: str = msgspec.field(name="__typename")


class LatestIngestion(_Node):
    id: Id
    status_data: TypeName


_UNFINISHED_INGESTION = frozenset({"ModelIngestionQueuedStatus", "ModelIngestionProcessingStatus"})


class ModelContentsNode(_Node):
    id: Id
    versions: CountNode
    pending_imported_versions: list[PendingUpload]
    latest_ingestion: LatestIngestion | None = None

    @property
    def is_empty(self) -> bool:
        """No version, and no import on its way into the model (ours or anyone's)."""
        importing = (self.latest_ingestion is not None
                     and self.latest_ingestion.status_data.typename in _UNFINISHED_INGESTION)
        return self.versions.total_count == 0 and not self.pending_imported_versions and not importing


class ModelContentsProject(_Node):
    model: ModelContentsNode


class ModelContentsAnswer(_Node):
    project: ModelContentsProject


class VersionNode(_Node):
    id: Id
    message: str | None = None


class VersionMutations(_Node):
    update: VersionNode


class UpdateVersionAnswer(_Node):
    version_mutations: VersionMutations


# -- uploads ---------------------------------------------------------------------------------------
class RequestHeader(_Node):
    header: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    value: Annotated[str, msgspec.Meta(max_length=8192)]


class UploadUrlNode(_Node):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=16384)]
    file_id: Id
    additional_request_headers: list[RequestHeader] | None = None


class UploadUrlMutations(_Node):
    generate_upload_url: UploadUrlNode


class GenerateUploadUrlAnswer(_Node):
    file_upload_mutations: UploadUrlMutations


class FileUploadNode(_Node):
    """``FileUpload``: ``convertedStatus`` 0 queued, 1 processing, 2 success, 3 error."""

    id: Id | None = None
    converted_status: int | None = None
    converted_message: str | None = None
    converted_version_id: str | None = None


class StatusData(msgspec.Struct, kw_only=True):
    """``ModelIngestion.statusData``: a union whose every member has ``status``."""

    status: str
    progress_message: str | None = msgspec.field(default=None, name="progressMessage")
    progress: float | None = None
    version_id: str | None = msgspec.field(default=None, name="versionId")
    error_reason: str | None = msgspec.field(default=None, name="errorReason")
    cancellation_message: str | None = msgspec.field(default=None, name="cancellationMessage")
    validation_message: str | None = msgspec.field(default=None, name="validationMessage")


class IngestionNode(_Node):
    status_data: StatusData
    id: Id | None = None


class StartMutations(_Node):
    start_file_import: FileUploadNode | None = None
    start_file_ingestion: IngestionNode | None = None


class StartAnswer(_Node):
    file_upload_mutations: StartMutations


class IngestionProject(_Node):
    ingestion: IngestionNode | None = None


class IngestionAnswer(_Node):
    project: IngestionProject


class IngestionMutations(_Node):
    request_cancellation: IngestionNode


class CancelProjectMutations(_Node):
    model_ingestion_mutations: IngestionMutations


class CancelAnswer(_Node):
    project_mutations: CancelProjectMutations


class StreamUploads(_Node):
    file_upload: FileUploadNode | None = None


class FileUploadAnswer(_Node):
    stream: StreamUploads | None = None


class LegacyResult(_Node):
    upload_status: int | None = None
    blob_id: str | None = None
    upload_error: str | None = None


class LegacyAnswer(_Node):
    upload_results: list[LegacyResult] | None = None


# -- statuses --------------------------------------------------------------------------------------
_CONVERTED_STATUS = {0: RemoteState.QUEUED, 1: RemoteState.PROCESSING, 2: RemoteState.SUCCESS, 3: RemoteState.FAILED}


# Upstream's next-gen importer (the default since 2.25.8) leaves convertedStatus at 0 while its worker converts,
# then sets 2 or 3: "queued" alone would be untrue for the whole conversion. (Seen on a real 2.31.14 server.)
WAITING_FOR_IMPORT = "Waiting for the server to import it (queued or converting; this server does not say which)"


def file_upload_status(upload: FileUploadNode | Any) -> RemoteStatus:
    """``FileUpload.convertedStatus``: 0 queued, 1 processing, 2 success, 3 error."""
    if not isinstance(upload, FileUploadNode):
        upload = understand(upload, FileUploadNode, "file upload")
    code = upload.converted_status
    state = _CONVERTED_STATUS.get(code) if code is not None else None
    if state is None:
        raise UnexpectedResponseError(f"The server reported an unknown upload status {code!r}.")
    version_id = upload.converted_version_id
    if state is RemoteState.SUCCESS and not version_id:
        raise UnexpectedResponseError("The server reported success without a version id.")
    message = upload.converted_message or ""
    if state is RemoteState.QUEUED and not message:
        message = WAITING_FOR_IMPORT
    return RemoteStatus(state, message, None, version_id or None)


def ingestion_status(ingestion: IngestionNode | Any) -> RemoteStatus:
    """``ModelIngestion.statusData``: a union whose every member has ``status``."""
    if not isinstance(ingestion, IngestionNode):
        if not isinstance(ingestion, dict) or not isinstance(ingestion.get("statusData"), dict):
            raise UnexpectedResponseError("The server's ingestion answer has no status.")
        ingestion = understand(ingestion, IngestionNode, "ingestion")
    data = ingestion.status_data
    try:
        state = RemoteState(data.status)
    except ValueError:
        # An unknown status is treated as a final failure rather than followed forever.
        return RemoteStatus(RemoteState.FAILED, f"The server reported an unknown status {text(data.status, 100)!r}.")
    message = next((m for m in (data.progress_message, data.error_reason, data.cancellation_message,
                                data.validation_message) if m), "")
    if state is RemoteState.TIMEOUT and not message:
        message = "The server gave up processing this file (timeout)."
    if state is RemoteState.SUCCESS and not data.version_id:
        raise UnexpectedResponseError("The server reported success without a version id.")
    progress = data.progress if data.progress is not None and 0.0 <= data.progress <= 1.0 else None
    return RemoteStatus(state, message, progress, data.version_id or None)
