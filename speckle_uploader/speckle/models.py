"""Plain data the Speckle client returns: no I/O, no Qt."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from speckle_uploader.text import clean_server_text

T = TypeVar("T")
STATUS_MESSAGE_MAX = 2000


class ServerKind(enum.Enum):
    """Which upload API a server offers (detected once at sign-in)."""

    CLOUD_INGESTION = "cloud"  # startFileIngestion + ModelIngestion (app.speckle.systems)
    FILE_IMPORT = "fileimport"  # startFileImport + FileUpload (open-source 2.25.8+)
    LEGACY_REST = "legacy"  # POST /api/file/... only (open-source up to 2.25.7)


@dataclass(frozen=True)
class ServerInfo:
    url: str
    name: str
    version: str | None
    blob_size_limit_bytes: int
    kind: ServerKind


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str | None = None
    avatar: str | None = None


@dataclass(frozen=True)
class Permission:
    authorized: bool
    message: str = ""


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    role: str | None
    can_publish: Permission
    can_create_model: Permission
    updated_at: str | None = None


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    display_name: str
    updated_at: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str | None
    total_count: int


@dataclass(frozen=True)
class UploadUrl:
    url: str
    file_id: str
    additional_headers: dict[str, str] = field(default_factory=dict)


class RemoteState(enum.Enum):
    """Where the server says the file stands once it has it."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INVALID_INPUT = "invalidInput"
    TIMEOUT = "timeout"

    @property
    def is_final(self) -> bool:
        return self not in (RemoteState.QUEUED, RemoteState.PROCESSING)


@dataclass(frozen=True)
class RemoteStatus:
    state: RemoteState
    message: str = ""
    progress: float | None = None  # 0..1 where the server tells
    version_id: str | None = None

    def __post_init__(self) -> None:
        # The server's words, as every status enters the app: plain text, masked, of a readable length.
        object.__setattr__(self, "message", clean_server_text(self.message, STATUS_MESSAGE_MAX))
