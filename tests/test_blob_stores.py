"""S3 and Azure told apart by their answers, their refusals read into the app's errors (issue 16)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from speckle_uploader.speckle import blob_stores as stores
from speckle_uploader.speckle.blob_stores import StoreKind
from speckle_uploader.speckle.errors import (
    BlobLinkExpiredError,
    BlobStorageError,
    BlobThrottledError,
    EtagMismatchError,
    FileTooLargeError,
)

S3_URL = ("https://bucket.s3.amazonaws.com/assets/p/f?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261202T050000Z"
          "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abc")
AZURE_URL = "https://acct.blob.core.windows.net/c/p/f?se=2026-12-02T06%3A00%3A00Z&sp=cw&sv=2021-08-06&sr=b&sig=x"
AZURE_MESSAGE = ("Server failed to authenticate the request. Make sure the value of Authorization header is formed "
                 "correctly including the signature.\nRequestId:0d5c2f3a-701e-0061-6b1f-45a0a1000000\n"
                 "Time:2026-12-02T06:10:00.0000000Z")


def azure_error(code: str, message: str, extra: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message>{extra}'
            "</Error>")


@pytest.mark.parametrize(("url", "kind"), [
    (S3_URL, StoreKind.S3),
    ("http://minio.lan:9000/b/k?AWSAccessKeyId=a&Expires=1&Signature=s", StoreKind.S3),
    (AZURE_URL, StoreKind.AZURE),
    ("https://s3.amazonaws.com.evil.example/c/f?se=2030-01-01&sv=2021-08-06&sig=x", StoreKind.AZURE),  # not by host
    ("https://blob.core.windows.net.example/x", StoreKind.UNKNOWN),
])
def test_kind_is_told_by_the_signature_not_the_host(url: str, kind: StoreKind) -> None:
    assert stores.kind_of_url(url) is kind


def test_kind_is_told_by_the_answer_first() -> None:
    assert stores.kind_of_answer({"x-ms-request-id": "1"}, S3_URL) is StoreKind.AZURE
    assert stores.kind_of_answer({"Server": "Azurite-Blob/3.37.0"}, "http://x/y") is StoreKind.AZURE
    assert stores.kind_of_answer({"x-amz-request-id": "1"}, AZURE_URL) is StoreKind.S3
    assert stores.kind_of_answer({}, AZURE_URL) is StoreKind.AZURE


@pytest.mark.parametrize(("version", "limit"), [
    ("2021-08-06", 5000 * stores.MIB), ("2019-12-12", 5000 * stores.MIB), ("2019-07-07", 256 * stores.MIB),
])
def test_put_blob_limit_follows_the_sas_version(version: str, limit: int) -> None:
    url = AZURE_URL.replace("sv=2021-08-06", f"sv={version}")
    assert stores.single_put_limit(url) == limit
    stores.check_size(url, limit, "a.ifc")
    with pytest.raises(FileTooLargeError, match=rf"at most {limit // stores.MIB:,} MiB in one upload"):
        stores.check_size(url, limit + 1, "a.ifc")


def test_s3_has_no_limit_of_ours() -> None:
    assert stores.single_put_limit(S3_URL) is None
    stores.check_size(S3_URL, 50 * 1024**3, "a.ifc")  # MinIO takes 5 TiB; AWS says EntityTooLarge itself


def test_azure_expired_sas_in_azures_own_words() -> None:
    detail = "<AuthenticationErrorDetail>Signed expiry time [Wed, 02 Dec 2026 06:00:00 GMT] must be after signed " \
             "start time</AuthenticationErrorDetail>"
    body = azure_error("AuthenticationFailed", AZURE_MESSAGE, detail)
    error = stores.error_for(403, {"x-ms-error-code": "AuthenticationFailed"}, body, AZURE_URL, {})
    assert isinstance(error, BlobLinkExpiredError) and error.retryable
    assert str(error) == ("The upload link expired before the upload finished (HTTP 403, AuthenticationFailed); "
                          "asking the server for a new one.")


def test_expiry_is_judged_by_the_stores_clock() -> None:
    body = azure_error("AuthenticationFailed", AZURE_MESSAGE)
    before = {"x-ms-error-code": "AuthenticationFailed", "Date": "Wed, 02 Dec 2026 05:59:00 GMT"}
    after = {"x-ms-error-code": "AuthenticationFailed", "Date": "Wed, 02 Dec 2026 06:00:01 GMT"}
    not_expired = stores.error_for(403, before, body, AZURE_URL, {})
    assert not isinstance(not_expired, BlobLinkExpiredError)
    assert str(not_expired).startswith("Blob storage did not accept the upload link (HTTP 403, AuthenticationFailed)")
    assert isinstance(stores.error_for(403, after, body, AZURE_URL, {}), BlobLinkExpiredError)
    s3_after = {"x-amz-request-id": "1", "Date": "Wed, 02 Dec 2026 06:00:01 GMT"}
    s3_body = azure_error("SignatureDoesNotMatch", "The request signature we calculated does not match")
    assert isinstance(stores.error_for(403, s3_after, s3_body, S3_URL, {}), BlobLinkExpiredError)


def test_missing_required_header_names_it() -> None:
    body = azure_error("MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified."
                       "\nRequestId:1\nTime:2", "<HeaderName>x-ms-blob-type</HeaderName>")
    error = stores.error_for(400, {"x-ms-error-code": "MissingRequiredHeader"}, body, AZURE_URL, {})
    assert isinstance(error, BlobStorageError) and not error.retryable
    assert str(error) == ("Blob storage needs the header x-ms-blob-type, which the server did not ask us to send "
                          "(HTTP 400, MissingRequiredHeader: An HTTP header that's mandatory for this request is not "
                          "specified.). The server's upload settings are incomplete.")


def test_a_bare_400_from_an_s3_store_is_just_a_rejection() -> None:
    error = stores.error_for(400, {"x-amz-request-id": "1"}, "", S3_URL, {})
    assert str(error) == "Blob storage rejected the upload (HTTP 400)."


def test_server_busy_keeps_its_retry_after() -> None:
    body = azure_error("ServerBusy", "Ingress is over the account limit.\nRequestId:1\nTime:2")
    error = stores.error_for(503, {"x-ms-error-code": "ServerBusy", "Retry-After": "7"}, body, AZURE_URL, {})
    assert isinstance(error, BlobThrottledError) and error.retryable and error.retry_after == 7
    assert str(error) == "Blob storage is busy (HTTP 503, ServerBusy: Ingress is over the account limit.)."


def test_messages_lose_request_ids_and_control_characters() -> None:
    assert stores.clean("Bad thing.\nRequestId:abc\nTime:2026\x1b[2J") == "Bad thing."
    assert stores.clean("a\x07b") == "a b"
    assert stores.clean("x" * 1000).endswith("…") and len(stores.clean("x" * 1000)) == 300


def test_content_md5_is_compared_where_azure_sends_it() -> None:
    data = b"hello"
    md5 = hashlib.md5(data).hexdigest()
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    stores.check_integrity({"content-md5": good, "etag": '"0x8DC8E2B5A3F1C22"'}, md5)
    with pytest.raises(EtagMismatchError, match="Content-MD5"):
        stores.check_integrity({"content-md5": base64.b64encode(b"\0" * 16).decode()}, md5)
    with pytest.raises(EtagMismatchError, match="ETag"):
        stores.check_integrity({"etag": '"' + "0" * 32 + '"'}, md5)
    stores.check_integrity({"etag": '"0x8DC8E2B5A3F1C22"'}, md5)  # nothing to compare with: nothing claimed
    assert stores.stores_md5({"content-md5": good}) and not stores.stores_md5({"etag": '"0x8D"'})
