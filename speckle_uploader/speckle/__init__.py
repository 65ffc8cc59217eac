"""The Speckle API, without Qt: sign in, learn what the server can do, send files and follow them.

What the rest of the app uses comes from here; the modules inside are the wire's own business.
Adding a kind of server: ``backends.backend_for`` (and its detection in ``client.server_info``).
"""

from speckle_uploader.speckle.backends import IngestionBackend, Submission, Target, backend_for
from speckle_uploader.speckle.client import SpeckleClient
from speckle_uploader.speckle.errors import (
    CancellationRefusedError,
    FileProblemError,
    InvalidTokenError,
    ModelNotFoundError,
    RateLimitedError,
    ServerUnreachableError,
    SpeckleError,
)
from speckle_uploader.speckle.file_rules import check_file, extension
from speckle_uploader.speckle.http import tls_context
from speckle_uploader.speckle.models import (
    Model,
    Page,
    Project,
    RemoteState,
    RemoteStatus,
    ServerInfo,
    ServerKind,
    User,
)
from speckle_uploader.speckle.server_url import (
    CLOUD_URL,
    ServerAddress,
    is_plain_http_remote,
    normalise_server_url,
    parse_proxy,
    parse_server_address,
)
from speckle_uploader.speckle.session import Session, sign_in

__all__ = [
    "CLOUD_URL",
    "CancellationRefusedError",
    "FileProblemError",
    "IngestionBackend",
    "InvalidTokenError",
    "Model",
    "ModelNotFoundError",
    "Page",
    "Project",
    "RateLimitedError",
    "RemoteState",
    "RemoteStatus",
    "ServerAddress",
    "ServerInfo",
    "ServerKind",
    "ServerUnreachableError",
    "Session",
    "SpeckleClient",
    "SpeckleError",
    "Submission",
    "Target",
    "User",
    "backend_for",
    "check_file",
    "extension",
    "is_plain_http_remote",
    "normalise_server_url",
    "parse_proxy",
    "parse_server_address",
    "sign_in",
    "tls_context",
]
