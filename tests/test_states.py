"""The job state machine and how each server's status vocabulary maps onto it."""

from __future__ import annotations

import pytest

from speckle_uploader.jobs import JobState
from speckle_uploader.jobs.queue import model_name_for
from speckle_uploader.speckle.answers import WAITING_FOR_IMPORT
from speckle_uploader.speckle.backends import file_upload_status, ingestion_status
from speckle_uploader.speckle.errors import UnexpectedResponseError
from speckle_uploader.speckle.models import RemoteState


def test_final_states() -> None:
    final = {s for s in JobState if s.is_final}
    assert final == {JobState.SUCCESS, JobState.FAILED, JobState.CANCELLED, JobState.INVALID_INPUT, JobState.TIMEOUT,
                     JobState.INTERRUPTED}
    assert {s for s in JobState if s.on_server} == {JobState.QUEUED, JobState.PROCESSING}


def test_every_remote_state_has_a_job_state() -> None:
    for remote in RemoteState:  # every server status has a job state (not every job state a server one)
        assert JobState.from_remote(remote).value == remote.value
        assert JobState.from_remote(remote).is_final == remote.is_final


@pytest.mark.parametrize(
    ("status_data", "state", "message"),
    [
        ({"__typename": "ModelIngestionQueuedStatus", "status": "queued", "progressMessage": "Waiting"},
         RemoteState.QUEUED, "Waiting"),
        ({"__typename": "ModelIngestionProcessingStatus", "status": "processing", "progressMessage": "Geometry",
          "progress": 0.5}, RemoteState.PROCESSING, "Geometry"),
        ({"__typename": "ModelIngestionSuccessStatus", "status": "success", "versionId": "v1"},
         RemoteState.SUCCESS, ""),
        ({"__typename": "ModelIngestionFailedStatus", "status": "failed", "errorReason": "Bad geometry"},
         RemoteState.FAILED, "Bad geometry"),
        ({"__typename": "ModelIngestionCancelledStatus", "status": "cancelled", "cancellationMessage": "By you"},
         RemoteState.CANCELLED, "By you"),
        ({"__typename": "ModelIngestionInvalidStatus", "status": "invalidInput", "validationMessage": "Not IFC"},
         RemoteState.INVALID_INPUT, "Not IFC"),
        ({"__typename": "ModelIngestionFailedStatus", "status": "timeout", "errorReason": ""},
         RemoteState.TIMEOUT, "The server gave up processing this file (timeout)."),
    ],
)
def test_ingestion_status_union(status_data: dict[str, object], state: RemoteState, message: str) -> None:
    status = ingestion_status({"id": "i1", "statusData": status_data})
    assert status.state is state
    assert status.message == message
    if state is RemoteState.PROCESSING:
        assert status.progress == 0.5
    if state is RemoteState.SUCCESS:
        assert status.version_id == "v1"


def test_unknown_ingestion_status_is_a_final_failure() -> None:
    status = ingestion_status({"statusData": {"status": "exploded"}})
    assert status.state is RemoteState.FAILED
    assert "unknown status 'exploded'" in status.message


def test_success_without_version_is_not_believed() -> None:
    with pytest.raises(UnexpectedResponseError):
        ingestion_status({"statusData": {"status": "success", "versionId": None}})
    with pytest.raises(UnexpectedResponseError):
        file_upload_status({"convertedStatus": 2, "convertedVersionId": None})


@pytest.mark.parametrize(
    ("code", "state"),
    [(0, RemoteState.QUEUED), (1, RemoteState.PROCESSING), (2, RemoteState.SUCCESS), (3, RemoteState.FAILED)],
)
def test_converted_status_codes(code: int, state: RemoteState) -> None:
    status = file_upload_status({"convertedStatus": code, "convertedMessage": "m", "convertedVersionId": "v"})
    assert status.state is state
    assert status.message == "m"


def test_unknown_converted_status() -> None:
    with pytest.raises(UnexpectedResponseError):
        file_upload_status({"convertedStatus": 9})


@pytest.mark.parametrize(
    ("file_name", "model"),
    [("Tower A.ifc", "Tower A"), ("#draft,v2.ifc", "draft-v2"), ("$.ifc", "upload"), ("a\\b.ifc", "a-b")],
)
def test_model_names_from_files(file_name: str, model: str) -> None:
    from pathlib import Path

    assert model_name_for(Path(file_name)) == model


def test_converted_status_zero_says_queued_or_converting() -> None:
    # The next-gen importer keeps 0 while it converts: the row must not claim a plain "queued".
    status = file_upload_status({"convertedStatus": 0, "convertedMessage": None})
    assert status.state is RemoteState.QUEUED
    assert status.message == WAITING_FOR_IMPORT
    assert "queued or converting" in status.message
