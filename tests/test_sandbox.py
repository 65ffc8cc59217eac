"""The sandbox answers as the real services do: codes, messages and HTTP statuses from the research."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from speckle_uploader.sandbox import Flavor, ThreadedSandbox
from speckle_uploader.sandbox.ifc import check_ifc
from speckle_uploader.speckle import operations as ops
from tests.conftest import SAMPLES, project_id, write

AUTH = {"Authorization": "Bearer sandbox-demo-token"}


def gql(server: ThreadedSandbox, query: str, variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}},
                      headers=AUTH if headers is None else headers)


def first_error(response: httpx.Response) -> tuple[str, str]:
    error = response.json()["errors"][0]
    return error["extensions"]["code"], error["message"]


def new_upload(server: ThreadedSandbox, file_name: str = "a.ifc", project: str | None = None) -> dict[str, Any]:
    document = ops.GENERATE_UPLOAD_URL_CLOUD if server.sandbox.flavor is Flavor.CLOUD else ops.GENERATE_UPLOAD_URL
    response = gql(server, document, {"input": {"projectId": project or project_id(server), "fileName": file_name}})
    return response.json()["data"]["fileUploadMutations"]["generateUploadUrl"]  # type: ignore[no-any-return]


def put(server: ThreadedSandbox, url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    extra = {"x-ms-blob-type": "BlockBlob"} if server.sandbox.flavor is Flavor.CLOUD else {}
    return httpx.put(url, content=body, headers={**extra, **(headers or {})})


def register(server: ThreadedSandbox, file_id: str, etag: str, model_id: str | None = None) -> httpx.Response:
    project = server.sandbox.store.projects[project_id(server)]
    model = model_id or next(iter(project.models))
    return gql(server, ops.START_FILE_IMPORT,
               {"input": {"projectId": project.id, "modelId": model, "fileId": file_id, "etag": etag}})


def test_unknown_token_is_http_403(sandbox: ThreadedSandbox) -> None:
    response = gql(sandbox, ops.ACTIVE_USER, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 403
    assert response.json() == {"error": "Your token is not valid."}


def test_no_token_is_anonymous(sandbox: ThreadedSandbox) -> None:
    assert gql(sandbox, ops.ACTIVE_USER, headers={}).json() == {"data": {"activeUser": None}}
    code, _ = first_error(gql(sandbox, ops.PROJECT, {"projectId": project_id(sandbox)}, headers={}))
    assert code == "FORBIDDEN"


def test_unknown_field_is_http_400_validation_failed(sandbox: ThreadedSandbox) -> None:
    response = gql(sandbox, "{ serverInfo { nonsense } }")
    assert response.status_code == 400
    assert first_error(response)[0] == "GRAPHQL_VALIDATION_FAILED"


def test_probe_tells_the_flavor(sandbox: ThreadedSandbox) -> None:
    described = gql(sandbox, ops.UPLOAD_API_PROBE).json()["data"]["__type"]
    fields = {f["name"] for f in described["fields"]} if described else set()
    expected = {Flavor.CLOUD: {"generateUploadUrl", "startFileImport", "startFileIngestion"},
                Flavor.FILE_IMPORT: {"generateUploadUrl", "startFileImport"}, Flavor.LEGACY: set()}
    assert fields == expected[sandbox.sandbox.flavor]


def test_project_errors(cloud_sandbox: ThreadedSandbox) -> None:
    assert first_error(gql(cloud_sandbox, ops.PROJECT, {"projectId": "missing"})) == (
        "STREAM_NOT_FOUND", "Project not found")
    campus = project_id(cloud_sandbox, "Campus Masterplan")
    response = gql(cloud_sandbox, ops.GENERATE_UPLOAD_URL, {"input": {"projectId": campus, "fileName": "a.ifc"}})
    assert first_error(response) == ("FORBIDDEN", "Your role on this project doesn't give you permission to publish.")
    response = gql(cloud_sandbox, ops.GENERATE_UPLOAD_URL,
                   {"input": {"projectId": project_id(cloud_sandbox), "fileName": "noextension"}})
    assert first_error(response) == ("USER_INPUT_ERROR", "File name must have a valid extension")


def test_model_rules(cloud_sandbox: ThreadedSandbox) -> None:
    create = {"input": {"projectId": project_id(cloud_sandbox), "name": "Facade / Panels"}}
    model = gql(cloud_sandbox, ops.CREATE_MODEL, create).json()["data"]["modelMutations"]["create"]
    assert model["name"] == "facade/panels" and model["displayName"] == "panels"
    assert first_error(gql(cloud_sandbox, ops.CREATE_MODEL, create))[0] == "BRANCH_CREATE_ERROR"
    create["input"]["name"] = "#bad,name"
    assert first_error(gql(cloud_sandbox, ops.CREATE_MODEL, create))[0] == "BRANCH_NAME_ERROR"


def test_paging_with_cursors(cloud_sandbox: ThreadedSandbox) -> None:
    seen: list[str] = []
    cursor = None
    for _page in range(10):  # six projects in pages of two: a cursor that never ends fails, not hangs
        data = gql(cloud_sandbox, ops.USER_PROJECTS, {"limit": 2, "cursor": cursor}).json()["data"]
        page = data["activeUser"]["projects"]
        assert page["totalCount"] == 6
        seen += [p["name"] for p in page["items"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 6
    assert seen[0] == "Riverside Library"  # most recently updated first
    found = gql(cloud_sandbox, ops.USER_PROJECTS, {"limit": 10, "filter": {"search": "tower"}}).json()
    assert [p["name"] for p in found["data"]["activeUser"]["projects"]["items"]] == ["Harbour Office Tower"]


@pytest.mark.parametrize("sandbox", [Flavor.CLOUD, Flavor.FILE_IMPORT], indirect=True, ids=["cloud", "fileimport"])
def test_blob_storage_rules(sandbox: ThreadedSandbox) -> None:
    upload = new_upload(sandbox)
    url = upload["url"]
    body = (SAMPLES / "simple-wall.ifc").read_bytes()
    refused = put(sandbox, url, body, headers=AUTH)
    assert refused.status_code == 400 and "<Code>InvalidArgument</Code>" in refused.text
    tampered = put(sandbox, url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), body)
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text

    def chunks() -> Any:
        yield body

    chunked = put(sandbox, url, chunks())  # type: ignore[arg-type]
    assert chunked.status_code == 411 and "MissingContentLength" in chunked.text
    stored = put(sandbox, url, body)
    assert stored.status_code == 200
    assert stored.headers["ETag"] == '"' + hashlib.md5(body).hexdigest() + '"'


def test_cloud_storage_needs_the_additional_header(cloud_sandbox: ThreadedSandbox) -> None:
    upload = new_upload(cloud_sandbox)
    assert upload["additionalRequestHeaders"] == [{"header": "x-ms-blob-type", "value": "BlockBlob"}]
    response = httpx.put(upload["url"], content=b"ISO-10303-21;")
    assert response.status_code == 400 and "x-ms-blob-type" in response.text


def test_expired_upload_link(fileimport_sandbox: ThreadedSandbox) -> None:
    fileimport_sandbox.call(setattr, fileimport_sandbox.sandbox.config, "url_expiry_seconds", -1)
    response = put(fileimport_sandbox, new_upload(fileimport_sandbox)["url"], b"ISO-10303-21;")
    assert response.status_code == 403
    assert "<Message>Request has expired</Message>" in response.text


def test_registration_rules(fileimport_sandbox: ThreadedSandbox) -> None:
    server = fileimport_sandbox
    body = (SAMPLES / "simple-wall.ifc").read_bytes()
    upload = new_upload(server)
    assert first_error(register(server, upload["fileId"], '"x"'))[0] == "STORED_BLOB_ACCESS_ERROR"
    etag = put(server, upload["url"], body).headers["ETag"]
    assert first_error(register(server, upload["fileId"], "")) == (
        "USER_INPUT_ERROR", "ETag is required to register a completed upload")
    assert first_error(register(server, upload["fileId"], etag.strip('"'))) == (
        "USER_INPUT_ERROR", f"ETag mismatch: expected {etag.strip(chr(34))}")
    assert first_error(register(server, "unknown123", etag))[0] == "USER_INPUT_ERROR"
    registered = register(server, upload["fileId"], etag).json()["data"]["fileUploadMutations"]["startFileImport"]
    assert registered["id"] == upload["fileId"] and registered["convertedStatus"] == 0
    assert first_error(register(server, upload["fileId"], etag)) == (
        "ALREADY_REGISTERED_BLOB_ERROR", "Blob already registered and completed")

    # The model is checked after the blob is marked complete: that fileId is spent.
    other = new_upload(server)
    etag = put(server, other["url"], body).headers["ETag"]
    assert first_error(register(server, other["fileId"], etag, model_id="nomodel00")) == (
        "MODEL_NOT_FOUND", "Attempting to work with a non-existant model")
    assert first_error(register(server, other["fileId"], etag))[0] == "ALREADY_REGISTERED_BLOB_ERROR"


def test_size_limit_at_registration(fileimport_sandbox: ThreadedSandbox) -> None:
    fileimport_sandbox.call(setattr, fileimport_sandbox.sandbox.config, "blob_size_limit_bytes", 10)
    upload = new_upload(fileimport_sandbox)
    etag = put(fileimport_sandbox, upload["url"], b"ISO-10303-21; and more").headers["ETag"]
    code, message = first_error(register(fileimport_sandbox, upload["fileId"], etag))
    assert code == "USER_INPUT_ERROR"
    assert message == "File size exceeds maximum allowed size of 10 bytes. Actual size: 22 bytes"


def test_cloud_refuses_the_old_mutation_and_unsupported_types(cloud_sandbox: ThreadedSandbox) -> None:
    upload = new_upload(cloud_sandbox, "notes.txt")
    etag = put(cloud_sandbox, upload["url"], b"hello").headers["ETag"]
    assert first_error(register(cloud_sandbox, upload["fileId"], etag))[0] == "UNSUPPORTED_FILE_TYPE"
    project = cloud_sandbox.sandbox.store.projects[project_id(cloud_sandbox)]
    response = gql(cloud_sandbox, ops.START_FILE_INGESTION, {"input": {
        "projectId": project.id, "modelId": next(iter(project.models)), "fileId": upload["fileId"], "etag": etag}})
    # The blob was consumed by the refused startFileImport above, as on the real server.
    assert first_error(response)[0] in ("UNSUPPORTED_FILE_TYPE", "ALREADY_REGISTERED_BLOB_ERROR")


def test_ingestion_follows_its_states(cloud_sandbox: ThreadedSandbox) -> None:
    body = (SAMPLES / "simple-wall.ifc").read_bytes()
    upload = new_upload(cloud_sandbox)
    etag = put(cloud_sandbox, upload["url"], body).headers["ETag"]
    project = cloud_sandbox.sandbox.store.projects[project_id(cloud_sandbox)]
    # Every state the sandbox goes through, recorded as it happens from before the ingestion starts (a poll
    # may miss a short state on a busy machine), then the final one as the API answers it.
    changes: list[tuple[str, str]] = []
    succeeded = threading.Event()

    def record(event: str, payload: object) -> None:
        if event == "ingestion":
            changes.append((str(getattr(payload, "id", "")), str(getattr(payload, "status", ""))))
            if changes[-1][1] == "success":
                succeeded.set()

    cloud_sandbox.call(cloud_sandbox.sandbox.store.listeners.append, record)
    started = gql(cloud_sandbox, ops.START_FILE_INGESTION, {"input": {
        "projectId": project.id, "modelId": next(iter(project.models)), "fileId": upload["fileId"], "etag": etag}})
    ingestion = started.json()["data"]["fileUploadMutations"]["startFileIngestion"]
    assert ingestion["statusData"]["__typename"] == "ModelIngestionQueuedStatus"
    assert succeeded.wait(30), changes
    data = gql(cloud_sandbox, ops.INGESTION_STATUS, {"projectId": project.id, "ingestionId": ingestion["id"]})
    status = data.json()["data"]["project"]["ingestion"]["statusData"]
    assert status["status"] == "success" and len(status["versionId"]) == 10
    seen = [state for ingestion_id, state in changes if ingestion_id == ingestion["id"]]
    distinct = [state for i, state in enumerate(seen) if i == 0 or seen[i - 1] != state]
    assert distinct == ["queued", "processing", "success"]


@pytest.mark.parametrize("sandbox", [Flavor.FILE_IMPORT, Flavor.LEGACY], indirect=True, ids=["2.31", "2.25"])
def test_legacy_rest_upload(sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    url = f"{sandbox.url}/api/file/autodetect/{project_id(sandbox)}/brand%20new"
    files = {"file": ("wall.ifc", (SAMPLES / "simple-wall.ifc").read_bytes())}
    response = httpx.post(url, files=files, headers=AUTH)
    if sandbox.sandbox.flavor is Flavor.FILE_IMPORT:  # 2.26+: the model must exist
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "BRANCH_NOT_FOUND"
        return
    assert response.status_code == 201
    result = response.json()["uploadResults"][0]
    assert result["uploadStatus"] == 1 and result["fileName"] == "wall.ifc" and len(result["blobId"]) == 10
    missing = httpx.post(f"{sandbox.url}/api/file/autodetect/nothere/main", files=files, headers=AUTH)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Project ID is malformed and cannot be found, or the project does not exist"}


def test_ifc_checker(tmp_path: Path) -> None:
    good = check_ifc(SAMPLES / "simple-wall.ifc")
    assert good.ok and good.schema == "IFC4" and good.entities > 10
    text = (SAMPLES / "simple-wall.ifc").read_text()
    assert check_ifc(write(tmp_path / "a.ifc", "PK\x03\x04zip")).not_ifc
    assert "FILE_SCHEMA" in check_ifc(write(tmp_path / "b.ifc", text.replace("FILE_SCHEMA(('IFC4'));", ""))).problem
    assert "IFC5" in check_ifc(write(tmp_path / "c.ifc", text.replace("'IFC4'", "'IFC5'"))).problem
    assert "truncated" in check_ifc(write(tmp_path / "d.ifc", text[:1500])).problem
