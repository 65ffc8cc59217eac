"""The blob stores a Speckle server may hand out (S3 and S3-compatible: AWS, MinIO, moto; Azure Blob Storage),
told apart by their answers and their URLs' signatures, never by host names.

What each says becomes the app's errors: an expired link is asked for anew (:class:`BlobLinkExpiredError`,
which the queue retries with a fresh link and a new PUT), a refused permission fails at once, throttling
(``SlowDown``, ``ServerBusy``, 503, 429) is retried with backoff. Sentences keep the store's code and message
without its ``RequestId:``/``Time:`` lines (the whole answer goes to the log). The stored bytes are checked
with what the store returns (a plain-MD5 ETag from S3, ``Content-MD5`` from Azure), and a file over a
single PUT's limit (Azure: by the SAS version ``sv``) is refused before a byte is sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from speckle_uploader.speckle.errors import (
    BlobLinkExpiredError,
    BlobStorageError,
    BlobThrottledError,
    EtagMismatchError,
    FileTooLargeError,
    SpeckleError,
)
from speckle_uploader.speckle.http import parse_retry_after

log = logging.getLogger(__name__)

MIB = 1024 * 1024
AZURE_PUT_BLOB_LIMIT = 5000 * MIB  # SAS/REST version 2019-12-12 and later
AZURE_PUT_BLOB_LIMIT_BEFORE_2019_12_12 = 256 * MIB
_PLAIN_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')
_NOISE_LINE = re.compile(r"^\s*(RequestId|Time|x-ms-request-id)\s*:.*$", re.IGNORECASE | re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

_PERMISSION_CODES = frozenset({
    "AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch",
    "AuthorizationProtocolMismatch", "AuthorizationSourceIPMismatch", "InsufficientAccountPermissions",
    "AccountIsDisabled", "AccessDenied", "AllAccessDisabled", "AccountProblem",
})
_SIGNATURE_CODES = frozenset({"AuthenticationFailed", "AuthorizationFailure", "SignatureDoesNotMatch",
                              "InvalidAccessKeyId", "InvalidToken", "TokenRefreshRequired", "ExpiredToken"})
_THROTTLE_CODES = frozenset({"ServerBusy", "SlowDown", "TooManyRequests", "ServiceUnavailable"})
_PASSING_CODES = frozenset({"OperationTimedOut", "RequestTimeout", "InternalError"})
_TOO_LARGE_CODES = frozenset({"EntityTooLarge", "RequestBodyTooLarge", "MaxMessageLengthExceeded"})
_DIGEST_CODES = frozenset({"Md5Mismatch", "BadDigest", "InvalidDigest", "Crc64Mismatch"})


class StoreKind(enum.Enum):
    S3 = "S3-compatible storage"
    AZURE = "Azure Blob Storage"
    UNKNOWN = "blob storage"


def _query(url: str) -> dict[str, str]:
    return {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def kind_of_url(url: str) -> StoreKind:
    """By the URL's signature: ``X-Amz-*`` (SigV4) or ``AWSAccessKeyId`` (SigV2) is S3; ``sig`` with ``sv`` or
    ``se`` is an Azure SAS."""
    query = _query(url)
    if any(key.startswith("x-amz-") for key in query) or "awsaccesskeyid" in query:
        return StoreKind.S3
    if "sig" in query and ("sv" in query or "se" in query):
        return StoreKind.AZURE
    return StoreKind.UNKNOWN


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def kind_of_answer(headers: Mapping[str, str], url: str) -> StoreKind:
    """By what the store answered (``x-ms-*`` or ``x-amz-*`` headers, its ``Server``), else by the URL."""
    headers = _lower(headers)
    names = set(headers)
    server = headers.get("server", "").lower()
    if any(n.startswith("x-ms-") for n in names) or server.startswith(("windows-azure", "azurite")):
        return StoreKind.AZURE
    if any(n.startswith("x-amz-") for n in names) or server.startswith(("amazons3", "minio")):
        return StoreKind.S3
    return kind_of_url(url)


def single_put_limit(url: str) -> int | None:
    """The most one PUT may carry where the URL says so: Azure's Put Blob by the SAS version. S3-compatible
    stores differ (AWS 5 GiB, MinIO 5 TiB): they say so themselves (``EntityTooLarge``)."""
    if kind_of_url(url) is not StoreKind.AZURE:
        return None
    version = _query(url).get("sv", "")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version):
        return None
    return AZURE_PUT_BLOB_LIMIT if version >= "2019-12-12" else AZURE_PUT_BLOB_LIMIT_BEFORE_2019_12_12


def check_size(url: str, size: int, file_name: str) -> None:
    limit = single_put_limit(url)
    if limit is not None and size > limit:
        version = _query(url).get("sv", "")
        raise FileTooLargeError(
            f"{file_name} is {size / MIB:,.0f} MiB; the server's Azure blob storage takes at most "
            f"{limit // MIB:,} MiB in one upload (its link's storage version {version}). Nothing was sent.",
            code="FILE_TOO_LARGE_FOR_STORAGE",
        )


def check_integrity(headers: Mapping[str, str], md5_hex: str | None) -> None:
    """Compare the MD5 of the bytes sent with what the store says it stored: Azure's ``Content-MD5`` (base64)
    where given, else an ETag that is a plain MD5 (S3 single PUT). Nothing to compare: nothing is claimed."""
    if md5_hex is None:
        return
    headers = _lower(headers)
    content_md5 = headers.get("content-md5")
    if content_md5:
        try:
            stored = base64.b64decode(content_md5, validate=True).hex()
        except ValueError:
            stored = ""
        if stored != md5_hex:
            raise EtagMismatchError(
                f"Blob storage stored different bytes than were sent (Content-MD5 {content_md5}, sent MD5 "
                f"{base64.b64encode(bytes.fromhex(md5_hex)).decode()}); upload again.", server_message=content_md5)
        return
    etag = headers.get("etag", "")
    plain = _PLAIN_MD5_ETAG.match(etag)
    if plain and plain.group(1).lower() != md5_hex:
        raise EtagMismatchError(
            f"Blob storage stored different bytes than were sent (ETag {etag}, sent MD5 {md5_hex}); upload again.",
            server_message=etag,
        )


def stores_md5(headers: Mapping[str, str]) -> bool:
    """Whether the answer carries something the MD5 of the bytes can be compared with."""
    headers = _lower(headers)
    return bool(headers.get("content-md5")) or bool(_PLAIN_MD5_ETAG.match(headers.get("etag", "")))


@dataclass(frozen=True)
class StoreAnswer:
    """An error answer, parsed: ``<Error><Code/><Message/>...</Error>`` from either store, or the
    ``x-ms-error-code`` header alone (Azure answers HEAD and some 400s without a body)."""

    code: str | None
    message: str | None  # as sent, RequestId and all
    detail: str | None  # Azure's AuthenticationErrorDetail
    header_name: str | None  # Azure's HeaderName (MissingRequiredHeader)

    @classmethod
    def parse(cls, body: str, headers: Mapping[str, str]) -> StoreAnswer:
        fields: dict[str, str | None] = {}
        try:
            root = ET.fromstring(body) if body.strip() else None
        except ET.ParseError:
            root = None
        if root is not None:
            for name in ("Code", "Message", "AuthenticationErrorDetail", "HeaderName"):
                fields[name] = root.findtext(name) or root.findtext("{*}" + name)
        return cls(code=fields.get("Code") or headers.get("x-ms-error-code") or None,
                   message=fields.get("Message"), detail=fields.get("AuthenticationErrorDetail"),
                   header_name=fields.get("HeaderName"))


def clean(text: str | None, limit: int = 300) -> str:
    """A store's message as part of our sentence: no RequestId/Time lines, no control characters, short."""
    if not text:
        return ""
    text = _CONTROL.sub(" ", _NOISE_LINE.sub("", text))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link_expired(url: str, headers: Mapping[str, str]) -> bool:
    """Whether the link's own validity ended, by the store's clock (its ``Date``) where it sent one."""
    headers = _lower(headers)
    query = _query(url)
    until: dt.datetime | None = None
    try:
        if "se" in query:  # Azure: 2026-12-02T06:44:49Z or a date
            until = dt.datetime.fromisoformat(query["se"].replace("Z", "+00:00"))
            until = until if until.tzinfo else until.replace(tzinfo=dt.UTC)
        elif "x-amz-date" in query and query.get("x-amz-expires", "").isdigit():
            start = dt.datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            until = start + dt.timedelta(seconds=int(query["x-amz-expires"]))
    except (ValueError, OverflowError):
        return False
    if until is None:
        return False
    now = dt.datetime.now(dt.UTC)
    try:
        if headers.get("date"):
            now = parsedate_to_datetime(headers["date"])
    except (TypeError, ValueError):
        pass
    return until <= now


def error_for(status: int, headers: Mapping[str, str], body: str, url: str, sent: Mapping[str, str]) -> SpeckleError:
    """The app's error for a store's refusal of the PUT (``sent``: the headers we sent)."""
    headers = _lower(headers)
    kind = kind_of_answer(headers, url)
    answer = StoreAnswer.parse(body, headers)
    code, message = answer.code, clean(answer.message)
    log.warning("%s refused the upload: HTTP %s %s %s %s", kind.value, status, code, answer.message or body[:2000],
                answer.detail or "")
    if code and message and "authorization header" in message.lower() and not _sent(sent, "authorization"):
        message = ""  # Azurite's words for a bad SAS mention a header we never send
    detail = ", ".join(part for part in (f"HTTP {status}", ": ".join(p for p in (code, message) if p)) if part)
    words = {"server_message": answer.message or body[:500] or None, "code": code}
    # S3: "Request has expired"; Azure: "Signed expiry time [...] has to be after signed start time [now]"
    expiry_said = any("expir" in (text or "").lower() for text in (answer.message, answer.detail))
    if status == 403 and (expiry_said or (code in _SIGNATURE_CODES and link_expired(url, headers))):
        return BlobLinkExpiredError(f"The upload link expired before the upload finished ({detail}); "
                                    "asking the server for a new one.", status=status, **words)
    if status in (401, 403) and code in _PERMISSION_CODES:
        return BlobStorageError(f"Blob storage refused to store the file: the upload link does not allow it "
                                f"({detail}). The server's storage settings need fixing; tell its administrator.",
                                status=status, retryable=False, **words)
    if status in (401, 403):
        return BlobStorageError(f"Blob storage did not accept the upload link ({detail}); asking the server for a "
                                "new one.", status=status, retryable=True, **words)
    if code in _DIGEST_CODES:
        return EtagMismatchError(f"Blob storage received different bytes than were sent ({detail}); upload again.",
                                 **words)
    if status == 413 or code in _TOO_LARGE_CODES:
        return BlobStorageError(f"Blob storage says the file is too large ({detail}).", status=status,
                                retryable=False, **words)
    if status in (429, 503) or code in _THROTTLE_CODES:
        return BlobThrottledError(f"Blob storage is busy ({detail}).", status=status,
                                  retry_after=parse_retry_after(headers.get("retry-after")), **words)
    if status >= 500 or code in _PASSING_CODES:
        return BlobStorageError(f"Blob storage had a problem ({detail}).", status=status, retryable=True, **words)
    missing = _missing_header(kind, status, code, answer, sent)
    if missing:
        return BlobStorageError(f"Blob storage needs the header {missing}, which the server did not ask us to send "
                                f"({detail or f'HTTP {status}'}). The server's upload settings are incomplete.",
                                status=status, retryable=False, **words)
    return BlobStorageError(f"Blob storage rejected the upload ({detail or f'HTTP {status}'}).", status=status,
                            retryable=False, **words)


def _sent(sent: Mapping[str, str], name: str) -> bool:
    return any(key.lower() == name for key in sent)


def _missing_header(kind: StoreKind, status: int, code: str | None, answer: StoreAnswer,
                    sent: Mapping[str, str]) -> str | None:
    if code == "MissingRequiredHeader":
        return clean(answer.header_name, 60) or "named in its answer"
    # The emulator answers a Put Blob without x-ms-blob-type with a bare 400.
    if kind is StoreKind.AZURE and status == 400 and code is None and not _sent(sent, "x-ms-blob-type"):
        return "x-ms-blob-type"
    return None
