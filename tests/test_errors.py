"""How server answers become typed errors with sentences a person understands."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from speckle_uploader.speckle import errors as e
from speckle_uploader.speckle.http import SpeckleHttp, error_from_graphql, normalise_server_url, parse_retry_after


def gql_error(code: str, message: str) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code}}]


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        ("FORBIDDEN", "Your role on this project doesn't give you permission to publish.", e.PermissionDeniedError),
        ("FORBIDDEN", "Your auth token does not have the required scope: streams:write.", e.PermissionDeniedError),
        ("UNAUTHORIZED", "Must provide an auth token", e.PermissionDeniedError),
        ("STREAM_NOT_FOUND", "Project not found", e.ProjectNotFoundError),
        ("MODEL_NOT_FOUND", "Attempting to work with a non-existant model", e.ModelNotFoundError),
        ("UNSUPPORTED_FILE_TYPE", "The provided file type is not supported for importing.",
         e.UnsupportedFileTypeError),
        ("USER_INPUT_ERROR", 'ETag mismatch: expected "abc"', e.EtagMismatchError),
        ("USER_INPUT_ERROR", "File size exceeds maximum allowed size of 10 bytes. Actual size: 20 bytes",
         e.FileTooLargeError),
        ("RATE_LIMIT_ERROR", "Too many requests", e.RateLimitedError),
        ("GRAPHQL_VALIDATION_FAILED", 'Cannot query field "x" on type "Query".', e.UnexpectedResponseError),
        ("BRANCH_CREATE_ERROR", "A branch with this name already exists", e.SpeckleError),
    ],
)
def test_graphql_codes_map_to_typed_errors(code: str, message: str, kind: type[e.SpeckleError]) -> None:
    error = error_from_graphql(gql_error(code, message))
    assert type(error) is kind
    assert error.server_message == message
    assert error.code == code
    assert message in str(error)  # the server's own words reach the user


def test_retryable_errors() -> None:
    assert error_from_graphql(gql_error("USER_INPUT_ERROR", "ETag mismatch: expected x")).retryable
    assert not error_from_graphql(gql_error("FORBIDDEN", "no")).retryable
    assert e.BlobStorageError("x", status=503).retryable
    assert e.BlobLinkExpiredError("x", status=403).retryable  # an expired link: ask for a new one
    assert not e.BlobStorageError("x", status=403).retryable  # a refusal: the same again would be refused
    assert e.BlobThrottledError("x", status=503).retryable
    assert not e.UnsafeBlobRequestError("x").retryable
    assert not e.BlobStorageError("x", status=400).retryable


def test_malformed_error_list_still_gives_a_sentence() -> None:
    error = error_from_graphql([None])
    assert str(error) == "Unknown error"


def respond(status: int, body: Any = None, headers: dict[str, str] | None = None, text: str | None = None):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, content=json.dumps(body).encode(), headers={
            "Content-Type": "application/json", **(headers or {})})
    return SpeckleHttp("https://speckle.example.com", "tok",
                       client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


@pytest.mark.asyncio
async def test_invalid_token_403_body() -> None:
    http = respond(403, {"error": "Your token is not valid."})
    with pytest.raises(e.InvalidTokenError) as caught:
        await http.graphql("{ activeUser { id } }")
    assert "speckle.example.com refused the access token" in str(caught.value)
    assert caught.value.server_message == "Your token is not valid."


@pytest.mark.asyncio
async def test_rate_limited_with_retry_after() -> None:
    http = respond(429, {"errors": gql_error("RATE_LIMIT_ERROR", "slow")}, headers={"Retry-After": "7"})
    with pytest.raises(e.RateLimitedError) as caught:
        await http.graphql("{ a }")
    assert caught.value.retry_after == 7.0
    assert "7 s" in str(caught.value)


@pytest.mark.asyncio
async def test_server_failure_5xx() -> None:
    http = respond(502, text="<html>Bad gateway</html>")
    with pytest.raises(e.ServerFailureError) as caught:
        await http.graphql("{ a }")
    assert caught.value.retryable
    assert "HTTP 502" in str(caught.value)


@pytest.mark.asyncio
async def test_not_a_speckle_server() -> None:
    with pytest.raises(e.UnexpectedResponseError) as caught:
        await respond(404, text="<html>Not found</html>").graphql("{ a }")
    assert "does not answer like a Speckle server" in str(caught.value)
    with pytest.raises(e.UnexpectedResponseError):
        await respond(200, text="<html>Welcome to nginx</html>").graphql("{ a }")
    with pytest.raises(e.UnexpectedResponseError):
        await respond(200, {"hello": "world"}).graphql("{ a }")


@pytest.mark.asyncio
async def test_validation_error_is_http_400() -> None:
    http = respond(400, {"errors": gql_error("GRAPHQL_VALIDATION_FAILED", 'Cannot query field "startFileIngestion"')})
    with pytest.raises(e.UnexpectedResponseError) as caught:
        await http.graphql("{ a }")
    assert "server version we do not support" in str(caught.value)


@pytest.mark.asyncio
async def test_unreachable_server() -> None:
    http = SpeckleHttp("http://127.0.0.1:1", "tok")
    with pytest.raises(e.ServerUnreachableError) as caught:
        await http.graphql("{ a }")
    await http.aclose()
    assert "Cannot reach 127.0.0.1:1" in str(caught.value)
    assert caught.value.retryable


def test_server_url_normalised() -> None:
    assert normalise_server_url("app.speckle.systems/") == "https://app.speckle.systems"
    assert normalise_server_url(" http://localhost:3000 ") == "http://localhost:3000"
    with pytest.raises(ValueError, match="not a server address"):
        normalise_server_url("ftp://x")


def test_retry_after_forms() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: go now
