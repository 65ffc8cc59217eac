"""The sandbox's state and rules: users, projects, models, blobs, file uploads, ingestions.

Plain Python, no HTTP. The error codes and messages are the real server's (research, sections d-f).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speckle_uploader.sandbox.azure import AzureBlobs

CLOUD_EXTENSIONS = frozenset(
    {"ifc", "rvt", "nwc", "nwd", "dwg", "3dm", "obj", "skp", "step", "stp", "dgn", "vwx", "smc"}
)
LEGACY_IMPORTER_EXTENSIONS = frozenset({"ifc", "stl", "obj"})
# startFileImport's next-gen importer (upstream's default since 2.25.8) takes IFC only: a real 2.31.14 server
# refuses .obj/.stl with UNSUPPORTED_FILE_TYPE once the bytes are stored.
NEXT_GEN_IMPORTER_EXTENSIONS = frozenset({"ifc"})

DEMO_TOKEN = "sandbox-demo-token"
DEMO_USER_ID = "d3m0us3r01"

PUBLISH_DENIED = "Your role on this project doesn't give you permission to publish."
NO_ACCESS = "You do not have access to the project"
MODEL_NAME_RULES = ('Model names cannot start with "#", "$", start or end with "/", have multiple slashes next '
                    'to each other (e.g., "//") or contain commas or backwards slashes.')


class Flavor(enum.Enum):
    CLOUD = "cloud"  # app.speckle.systems: ingestion API
    FILE_IMPORT = "fileimport"  # open-source 2.25.8 .. 2.31
    LEGACY = "legacy"  # open-source up to 2.25.7: REST upload only

    @property
    def version(self) -> str:
        return {"cloud": "2026.11.2", "fileimport": "2.31.14", "legacy": "2.25.7"}[self.value]


class SandboxError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(rng: random.Random, length: int = 10) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(length))


@dataclass
class User:
    id: str
    name: str
    email: str
    token: str
    avatar: str | None = None


@dataclass
class Model:
    id: str
    name: str
    project_id: str
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    versions: list[str] = field(default_factory=list)
    messages: dict[str, str | None] = field(default_factory=dict)  # version id -> message
    created: dict[str, str] = field(default_factory=dict)  # version id -> createdAt


@dataclass
class Project:
    id: str
    name: str
    roles: dict[str, str]  # user id -> stream:owner | stream:contributor | stream:reviewer
    description: str = ""
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    models: dict[str, Model] = field(default_factory=dict)

    def can_publish(self, user: User | None) -> bool:
        return user is not None and self.roles.get(user.id) in ("stream:owner", "stream:contributor")


class BlobStatus(enum.Enum):
    PENDING = 0
    COMPLETED = 1
    ERROR = 2


@dataclass
class Blob:
    id: str
    project_id: str
    file_name: str
    user_id: str
    status: BlobStatus = BlobStatus.PENDING
    path: Path | None = None
    size: int = 0
    etag: str | None = None
    error: str | None = None


@dataclass
class FileUpload:
    """The open-source record of one import (``FileUpload``); its id is the blob id."""

    id: str
    project_id: str
    model_name: str
    model_id: str | None
    user_id: str
    file_name: str
    file_size: int
    converted_status: int = 0  # 0 queued, 1 processing, 2 success, 3 error
    converted_message: str | None = None
    version_id: str | None = None
    upload_date: str = field(default_factory=now)
    last_update: str = field(default_factory=now)


@dataclass
class Ingestion:
    """The cloud record of one import (``ModelIngestion``)."""

    id: str
    project_id: str
    model_id: str
    user_id: str
    blob_id: str
    status: str = "queued"  # a ModelIngestionStatus value
    progress: float | None = None
    message: str = "Waiting for a file importer"
    version_id: str | None = None
    cancellation_requested: bool = False
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


Listener = Callable[[str, object], None]


@dataclass
class SandboxConfig:
    flavor: Flavor = Flavor.CLOUD
    blob_size_limit_bytes: int = 100 * 1024 * 1024
    queue_seconds: float = 0.6
    processing_seconds: float = 2.5
    url_expiry_seconds: int = 24 * 3600
    blob_bytes_per_second: float | None = None  # shape blob uploads (e.g. 125e6 for 1 Gbit/s)
    websockets_enabled: bool = True  # False: refuse subscriptions, as some proxies do
    keepalive_seconds: float = 30.0  # the real server sends "ka" every 30 s
    # Fault injection: the next N blob uploads are cut after their first chunk; the next N upload links
    # are issued already expired.
    cut_next_uploads: int = 0
    expire_next_urls: int = 0
    seed: int = 7
    # Upload links to Azure Blob Storage (Azurite) instead of the sandbox's own S3-like store.
    azure: AzureBlobs | None = None
    # A server that misbehaves on purpose (sandbox/hostile.py names the behaviours), and how slowly it stalls.
    hostile: frozenset[str] = frozenset()
    hostile_interval: float = 10.0


class Store:
    def __init__(self, config: SandboxConfig, data_dir: Path) -> None:
        self.config = config
        self.flavor = config.flavor
        self.data_dir = data_dir
        self.rng = random.Random(config.seed)
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.blobs: dict[str, Blob] = {}
        self.uploads: dict[str, FileUpload] = {}
        self.ingestions: dict[str, Ingestion] = {}
        self.listeners: list[Listener] = []
        # Outcome a test or demo wants for a file name: (status, message), e.g. ("timeout", "...").
        self.forced_outcomes: dict[str, tuple[str, str]] = {}

    # -- people and places ---------------------------------------------------------------------
    def add_user(self, name: str, email: str, token: str, user_id: str | None = None) -> User:
        user = User(user_id or new_id(self.rng), name, email, token)
        self.users[user.id] = user
        return user

    def add_project(self, name: str, roles: dict[str, str], models: Sequence[str] = (),
                    description: str = "") -> Project:
        project = Project(new_id(self.rng), name, roles, description)
        self.projects[project.id] = project
        for model_name in models:
            model = Model(new_id(self.rng), model_name, project.id)
            project.models[model.id] = model
        return project

    def user_by_token(self, token: str) -> User | None:
        return next((u for u in self.users.values() if u.token == token), None)

    def emit(self, event: str, payload: object) -> None:
        for listener in list(self.listeners):
            listener(event, payload)

    # -- reads ---------------------------------------------------------------------------------
    def project(self, project_id: str, user: User | None) -> Project:
        project = self.projects.get(project_id)
        if project is None:
            raise SandboxError("STREAM_NOT_FOUND", "Project not found")
        if user is None or user.id not in project.roles:
            raise SandboxError("FORBIDDEN", NO_ACCESS)
        return project

    def model(self, project: Project, model_id: str) -> Model:
        model = project.models.get(model_id)
        if model is None:
            raise SandboxError("MODEL_NOT_FOUND", "Model not found")
        return model

    def model_by_name(self, project: Project, name: str) -> Model | None:
        wanted = name.strip().lower()
        return next((m for m in project.models.values() if m.name == wanted), None)

    # -- writes --------------------------------------------------------------------------------
    def require_publish(self, project_id: str, user: User | None) -> Project:
        if user is None:
            raise SandboxError("UNAUTHORIZED", "Must provide an auth token")
        project = self.project(project_id, user)
        if not project.can_publish(user):
            raise SandboxError("FORBIDDEN", PUBLISH_DENIED)
        return project

    def create_model(self, project_id: str, name: str, user: User | None) -> Model:
        project = self.require_publish(project_id, user)
        clean = "/".join(part.strip() for part in name.split("/")).lower()
        if (not clean or clean[0] in "#$" or clean.startswith("/") or clean.endswith("/") or "//" in clean
                or "," in clean or "\\" in clean):
            raise SandboxError("BRANCH_NAME_ERROR", MODEL_NAME_RULES)
        if self.model_by_name(project, clean) is not None:
            raise SandboxError("BRANCH_CREATE_ERROR", "A branch with this name already exists")
        model = Model(new_id(self.rng), clean, project.id)
        project.models[model.id] = model
        project.updated_at = now()
        return model

    def delete_model(self, project_id: str, model_id: str, user: User | None) -> bool:
        """``modelMutations.delete``: a publisher's right, as creating one is."""
        project = self.require_publish(project_id, user)
        self.model(project, model_id)
        del project.models[model_id]
        project.updated_at = now()
        return True

    def new_blob(self, project_id: str, file_name: str, user: User | None) -> Blob:
        self.require_publish(project_id, user)
        assert user is not None
        if "." not in file_name or not file_name.rsplit(".", 1)[1]:
            raise SandboxError("USER_INPUT_ERROR", "File name must have a valid extension")
        blob = Blob(new_id(self.rng), project_id, file_name, user.id)
        self.blobs[blob.id] = blob
        return blob

    def complete_blob(self, project_id: str, file_id: str, etag: str, user: User | None) -> Blob:
        """``registerCompletedUpload``: the checks of the real server, in its order."""
        self.require_publish(project_id, user)
        if not etag:
            raise SandboxError("USER_INPUT_ERROR", "ETag is required to register a completed upload")
        blob = self.blobs.get(file_id)
        if blob is None or blob.project_id != project_id:
            raise SandboxError("USER_INPUT_ERROR", "Please use mutation generateUploadUrl to create a blob before "
                                                   "registering a completed upload")
        if blob.status is BlobStatus.COMPLETED:
            raise SandboxError("ALREADY_REGISTERED_BLOB_ERROR", "Blob already registered and completed")
        if blob.status is BlobStatus.ERROR:
            raise SandboxError("ALREADY_REGISTERED_BLOB_ERROR", blob.error or "Blob is in an error state")
        if blob.etag is None or blob.path is None:
            raise SandboxError("STORED_BLOB_ACCESS_ERROR",
                               f"Failed to get blob metadata for blob {file_id} in project {project_id}")
        if etag != blob.etag:
            raise SandboxError("USER_INPUT_ERROR", f"ETag mismatch: expected {etag}")
        limit = self.config.blob_size_limit_bytes
        if blob.size > limit or blob.size == 0:
            blob.status = BlobStatus.ERROR
            message = f"File size exceeds maximum allowed size of {limit} bytes. Actual size: {blob.size} bytes"
            blob.error = f"[FILE_SIZE_EXCEEDED] {message}"
            raise SandboxError("USER_INPUT_ERROR", message)
        blob.status = BlobStatus.COMPLETED
        return blob

    def start_file_import(self, project_id: str, model_id: str, file_id: str, etag: str,
                          user: User | None) -> FileUpload:
        blob = self.complete_blob(project_id, file_id, etag, user)
        project = self.projects[project_id]
        model = project.models.get(model_id)
        if model is None:  # checked after the blob is completed, as the real server does
            raise SandboxError("MODEL_NOT_FOUND", "Attempting to work with a non-existant model")
        if blob.file_name.rsplit(".", 1)[-1].lower() not in NEXT_GEN_IMPORTER_EXTENSIONS:
            raise SandboxError("UNSUPPORTED_FILE_TYPE", "The provided file type is not supported for importing.")
        assert user is not None
        return self.add_file_upload(blob, model.name, model.id, user)

    def add_file_upload(self, blob: Blob, model_name: str, model_id: str | None, user: User) -> FileUpload:
        upload = FileUpload(blob.id, blob.project_id, model_name, model_id, user.id, blob.file_name, blob.size)
        self.uploads[upload.id] = upload
        self.emit("fileupload", upload)
        return upload

    def start_file_ingestion(self, project_id: str, model_id: str, file_id: str, etag: str,
                             user: User | None) -> Ingestion:
        blob = self.complete_blob(project_id, file_id, etag, user)
        project = self.projects[project_id]
        if model_id not in project.models:
            raise SandboxError("MODEL_NOT_FOUND", "Attempting to work with a non-existant model")
        extension = blob.file_name.rsplit(".", 1)[-1].lower()
        if extension not in CLOUD_EXTENSIONS:
            raise SandboxError("UNSUPPORTED_FILE_TYPE", "The provided file type is not supported for importing.")
        assert user is not None
        ingestion = Ingestion(new_id(self.rng), project_id, model_id, user.id, blob.id)
        self.ingestions[ingestion.id] = ingestion
        self.emit("ingestion", ingestion)
        return ingestion

    def request_cancellation(self, project_id: str, ingestion_id: str, message: str, user: User | None) -> Ingestion:
        self.require_publish(project_id, user)
        ingestion = self.ingestions.get(ingestion_id)
        if ingestion is None or ingestion.project_id != project_id:
            raise SandboxError("NOT_FOUND_ERROR", "Ingestion not found")
        if ingestion.status in ("queued", "processing"):
            ingestion.cancellation_requested = True
            ingestion.message = message or "Cancellation requested"
            ingestion.updated_at = now()
            self.emit("ingestion", ingestion)
        return ingestion

    def new_version(self, project_id: str, model_id: str, file_bytes_md5: str) -> str:
        project = self.projects[project_id]
        model = project.models[model_id]
        version_id = hashlib.sha1(f"{model_id}:{file_bytes_md5}:{len(model.versions)}".encode()).hexdigest()[:10]
        model.versions.append(version_id)
        model.created[version_id] = now()
        model.updated_at = project.updated_at = now()
        return version_id

    def update_version_message(self, project_id: str, version_id: str, message: str | None,
                               user: User | None) -> tuple[Model, str]:
        project = self.require_publish(project_id, user)
        for model in project.models.values():
            if version_id in model.versions:
                model.messages[version_id] = message
                return model, version_id
        raise SandboxError("NOT_FOUND_ERROR", "Version not found")


def demo_store(config: SandboxConfig, data_dir: Path) -> Store:
    """A user with a handful of projects in every role, as a newcomer would see them."""
    store = Store(config, data_dir)
    demo = store.add_user("Alex Morgan", "alex.morgan@example.com", DEMO_TOKEN, user_id=DEMO_USER_ID)
    store.add_user("Sam Reviewer", "sam@example.com", "sandbox-other-token")
    owner, contributor, reviewer = "stream:owner", "stream:contributor", "stream:reviewer"
    store.add_project("Riverside Library", {demo.id: owner}, ["architecture", "structure", "mep"],
                      description="New public library, competition phase")
    store.add_project("Harbour Office Tower", {demo.id: contributor}, ["facade", "core and shell"])
    store.add_project("Campus Masterplan", {demo.id: reviewer}, ["site"],
                      description="Read-only for you: reviewer role")
    store.add_project("Sample Houses", {demo.id: owner})
    store.add_project("Hospital Extension", {demo.id: contributor}, ["architecture", "services"])
    store.add_project("Bridge Competition", {demo.id: owner}, ["deck", "pylons"])
    # Stagger the dates so the list reads most recently changed first, as on a real server.
    start = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    for age, project in enumerate(store.projects.values()):
        stamp = (start - dt.timedelta(days=age * 3)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        project.created_at = project.updated_at = stamp
        for model in project.models.values():
            model.created_at = model.updated_at = stamp
    return store
