"""The engine as the window and the command line assemble it (``jobs.workspace``), and what it shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speckle_uploader import cli
from speckle_uploader.app_dirs import history_path
from speckle_uploader.jobs import JobState
from speckle_uploader.jobs.follow import CLIENT_TIMEOUT
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.jobs.policy import PollPolicy
from speckle_uploader.sandbox import ThreadedSandbox
from tests.conftest import SAMPLES, finished, open_engine, project_id, write


@pytest.mark.asyncio
async def test_a_workspace_records_and_restores(fileimport_sandbox: ThreadedSandbox, sample_ifc: Path,
                                                tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    async with await open_engine(fileimport_sandbox, history=path) as workspace:
        job = workspace.queue.add(sample_ifc, project_id(fileimport_sandbox), "Architecture Main",
                                  version_message="For Monday")
        await finished(workspace)
    assert job.state is JobState.SUCCESS
    assert job.model_name == "architecture main"  # the server's name for it, not the one typed
    async with await open_engine(fileimport_sandbox, history=path) as again:
        [restored] = again.queue.jobs
    assert (restored.id, restored.state, restored.version_id) == (job.id, JobState.SUCCESS, job.version_id)
    assert restored.version_message == "For Monday"
    model = fileimport_sandbox.sandbox.store.projects[project_id(fileimport_sandbox)].models[job.model_id or ""]
    assert model.messages[job.version_id or ""] == "For Monday"  # set on the version itself


@pytest.mark.asyncio
async def test_a_refused_type_is_learnt_for_the_session(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    """Our list is stale and the server refuses .stl once its bytes are stored: the next .stl is refused
    before a byte is sent."""
    async with await open_engine(cloud_sandbox) as workspace:
        workspace.session.accepted_extensions.add("stl")
        first = workspace.queue.add(write(tmp_path / "a.stl", b"solid a"), project_id(cloud_sandbox), "m")
        await finished(workspace)
        puts = len([r for r in cloud_sandbox.sandbox.requests if r.method == "PUT"])
        second = workspace.queue.add(write(tmp_path / "b.stl", b"solid b"), project_id(cloud_sandbox), "m")
        await finished(workspace)
    assert first.state is JobState.FAILED and first.error_code == "UNSUPPORTED_FILE_TYPE"
    assert second.state is JobState.FAILED and "does not import .stl" in second.message
    assert len([r for r in cloud_sandbox.sandbox.requests if r.method == "PUT"]) == puts


@pytest.mark.asyncio
async def test_processing_that_never_ends_times_out_and_retry_looks_again(cloud_sandbox: ThreadedSandbox,
                                                                          sample_ifc: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "processing_seconds", 3600.0)
    poll = PollPolicy(first=0.05, maximum=0.1, processing_limit=0.5)
    async with await open_engine(cloud_sandbox, poll=poll) as workspace:
        job = workspace.queue.add(sample_ifc, project_id(cloud_sandbox), "slow")
        await finished(workspace)
        assert job.state is JobState.TIMEOUT and job.error_code == CLIENT_TIMEOUT
        assert "has not finished after 1 minute" in job.message
        uploads = len([r for r in cloud_sandbox.sandbox.requests if r.method == "PUT"])
        # Meanwhile the server finished after all: a retry picks the version up instead of uploading again.
        ingestion = cloud_sandbox.sandbox.store.ingestions[job.tracking_id or ""]
        version = cloud_sandbox.call(cloud_sandbox.sandbox.store.new_version, ingestion.project_id,
                                     ingestion.model_id, "0" * 32)
        cloud_sandbox.call(setattr, ingestion, "version_id", version)
        cloud_sandbox.call(setattr, ingestion, "status", "success")
        workspace.queue.retry(job.id)
        await finished(workspace)
    assert job.state is JobState.SUCCESS and job.version_id == version
    assert len([r for r in cloud_sandbox.sandbox.requests if r.method == "PUT"]) == uploads


def test_the_command_line_records_its_uploads(cloud_sandbox: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("SPECKLE_UPLOADER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPECKLE_TOKEN", "sandbox-demo-token")
    good = SAMPLES / "simple-wall.ifc"
    assert cli.main(["upload", "--server", cloud_sandbox.url, "--project", project_id(cloud_sandbox),
                     "--model", "CLI", "--message", "Issued for coordination", "--json", str(good)]) == cli.EXIT_OK
    uploaded = json.loads(capsys.readouterr().out)
    assert cli.main(["history", "--json"]) == cli.EXIT_OK
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["status"] == "success" and line["version_id"] == uploaded["version_id"]
    assert line["url"] == uploaded["url"] and line["server"] == cloud_sandbox.url
    model = cloud_sandbox.sandbox.store.projects[project_id(cloud_sandbox)].models[uploaded["model_id"]]
    assert model.messages[uploaded["version_id"]] == "Issued for coordination"
    assert cli.main(["history"]) == cli.EXIT_OK
    assert "simple-wall.ifc → cli" in capsys.readouterr().out
    # The window's history is the same file: it shows the command line's upload.
    opened = JobHistory.open(history_path())
    assert opened.history is not None
    assert [j.version_id for j in opened.history.load(cloud_sandbox.url)] == [uploaded["version_id"]]
    opened.history.close()
