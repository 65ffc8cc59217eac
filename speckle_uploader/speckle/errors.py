"""One exception hierarchy for everything the Speckle side can do wrong.

Each error carries a sentence meant for a person (``str(error)``) and, where the server said
something, its own words (``server_message``) and code. Both are scrubbed here, where they are made:
control characters and escape sequences removed, secrets masked, cut to a readable length (a server's
words may be anything, and every error ends up in a terminal, a window or the history).
"""

from __future__ import annotations

from speckle_uploader.text import clean_server_text

MESSAGE_MAX = 2000  # characters of one error sentence; the server's own words are cut to the same


class SpeckleError(Exception):
    """Base class: ``str(err)`` is a sentence a user can read."""

    retryable = False

    def __init__(self, message: str, *, server_message: str | None = None, code: str | None = None) -> None:
        super().__init__(clean_server_text(message, MESSAGE_MAX))
        self.server_message = None if server_message is None else clean_server_text(server_message, MESSAGE_MAX)
        self.code = None if code is None else clean_server_text(code, 100)


class InvalidTokenError(SpeckleError):
    """The server refused the token (HTTP 403 "Your token is not valid.")."""


class PermissionDeniedError(SpeckleError):
    """Missing scope or role (GraphQL FORBIDDEN / UNAUTHORIZED)."""


class ProjectNotFoundError(SpeckleError):
    pass


class ModelNotFoundError(SpeckleError):
    pass


class FileProblemError(SpeckleError):
    """The local file cannot be uploaded as it is (missing, empty, unreadable, a folder, changed)."""


class FileTooLargeError(SpeckleError):
    pass


class UnsupportedFileTypeError(SpeckleError):
    pass


class EtagMismatchError(SpeckleError):
    """Blob storage and the server disagree on what was stored: upload again."""

    retryable = True


class RegistrationRefusedError(SpeckleError):
    """The server would not register an uploaded blob (already registered, or not found in storage)."""

    retryable = True


class RateLimitedError(SpeckleError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerUnreachableError(SpeckleError):
    retryable = True


class ServerFailureError(SpeckleError):
    """The server answered with a 5xx: its problem, usually passing."""

    retryable = True


class BlobStorageError(SpeckleError):
    """The presigned PUT was refused by the storage service (S3-compatible or Azure).

    By default passing troubles (5xx, 408, 429) are retried and refusals are not; the store's own code can
    say otherwise (``speckle/blob_stores.py`` decides)."""

    def __init__(self, message: str, *, status: int, retryable: bool | None = None, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.retryable = status >= 500 or status in (408, 429) if retryable is None else retryable


class BlobLinkExpiredError(BlobStorageError):
    """The presigned URL is no longer valid: a fresh link and a new PUT will do (the queue's retry does both)."""

    def __init__(self, message: str, *, status: int, **kwargs: str | None) -> None:
        super().__init__(message, status=status, retryable=True, **kwargs)


class BlobThrottledError(RateLimitedError):
    """Blob storage asks us to slow down (S3 ``SlowDown``, Azure ``ServerBusy``, 503/429): retried with backoff."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None, **kwargs: str | None) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.status = status


class UnsafeBlobRequestError(SpeckleError):
    """The server handed out an upload URL or header the app will not use (a refused scheme or address, a
    downgrade to plain HTTP, a header value with a line break). Never retried: the server would do it again."""


class CancellationRefusedError(SpeckleError):
    """The server cannot, or would not, cancel this processing."""


class UnexpectedResponseError(SpeckleError):
    """The server answered something we do not understand (not Speckle, or a bug)."""
