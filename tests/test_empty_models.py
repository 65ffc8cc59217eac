"""Issue 13, point 8: a model this app created for a file whose import made no version is removed again;
a model it found, one that got a version or an import meanwhile, and one still needed, are kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from speckle_uploader.jobs import JobState, Workspace
from speckle_uploader.jobs.follow import CLIENT_TIMEOUT
from speckle_uploader.jobs.policy import PollPolicy
from speckle_uploader.sandbox import Flavor, ThreadedSandbox
from speckle_uploader.sandbox.store import FileUpload, Ingestion, Model, Project
from tests.conftest import SAMPLES, finished, open_engine, project_id, start_sandbox, write

BROKEN = (SAMPLES / "simple-wall.ifc").read_text()[:900]  # truncated: every kind of server fails it


def project(server: ThreadedSandbox) -> Project:
    return server.sandbox.store.projects[project_id(server)]


def model_names(server: ThreadedSandbox) -> set[str]:
    return {model.name for model in project(server).models.values()}


async def settle(workspace: Workspace) -> None:
    await finished(workspace)
    await workspace.empty_models.wait()


def before_the_check(workspace: Workspace, action: Callable[[str, str], None]) -> None:
    """Run ``action(project_id, model_id)`` just before the engine asks the server whether the model is empty:
    what another person's upload could do at that moment."""
    client = workspace.session.client
    original = client.model_is_empty

    async def patched(project_id: str, model_id: str, *, cloud: bool) -> bool:
        action(project_id, model_id)
        return await original(project_id, model_id, cloud=cloud)

    client.model_is_empty = patched  # type: ignore[method-assign]


@pytest.mark.asyncio
async def test_failed_import_removes_the_model_it_created(sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.ifc", BROKEN)
    good = tmp_path / "good.ifc"
    shutil.copy(SAMPLES / "simple-wall.ifc", good)
    workspace = await open_engine(sandbox)
    bad_job = workspace.queue.add(broken, project_id(sandbox))  # a model for each file
    good_job = workspace.queue.add(good, project_id(sandbox))
    await settle(workspace)
    await workspace.close()

    assert bad_job.state in (JobState.FAILED, JobState.INVALID_INPUT)
    assert bad_job.model_id is not None and bad_job.model_id not in project(sandbox).models
    assert "broken" not in model_names(sandbox)
    assert workspace.empty_models.removed == [(project_id(sandbox), bad_job.model_id)]
    assert good_job.state is JobState.SUCCESS and "good" in model_names(sandbox)


@pytest.mark.asyncio
async def test_a_model_we_found_is_never_removed(fileimport_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    server = fileimport_sandbox
    store = server.sandbox.store
    existing = server.call(store.create_model, project_id(server), "existing", next(iter(store.users.values())))
    broken = write(tmp_path / "broken.ifc", BROKEN)
    workspace = await open_engine(server)
    job = workspace.queue.add(broken, project_id(server), "Existing")
    await settle(workspace)
    await workspace.close()

    assert job.state is JobState.FAILED and job.model_id == existing.id
    assert existing.id in project(server).models  # empty, but not ours to remove
    assert workspace.empty_models.removed == []


@pytest.mark.parametrize("meanwhile", ["version", "import"])
@pytest.mark.asyncio
async def test_a_model_that_got_something_meanwhile_is_kept(sandbox: ThreadedSandbox, tmp_path: Path,
                                                            meanwhile: str) -> None:
    store = sandbox.sandbox.store
    user = next(iter(store.users.values()))

    asked: list[str] = []

    def someone_else(pid: str, model_id: str) -> None:
        asked.append(model_id)
        if meanwhile == "version":
            sandbox.call(store.new_version, pid, model_id, "0" * 32)
        elif sandbox.sandbox.flavor is Flavor.CLOUD:  # the cloud shows it as the model's latest ingestion
            sandbox.call(store.ingestions.__setitem__, "theirs",
                         Ingestion("theirs", pid, model_id, user.id, "blob"))
        else:  # open-source servers as a pending imported version
            sandbox.call(store.uploads.__setitem__, "theirs",
                         FileUpload("theirs", pid, "broken", model_id, user.id, "theirs.ifc", 10))

    broken = write(tmp_path / "broken.ifc", BROKEN)
    workspace = await open_engine(sandbox)
    before_the_check(workspace, someone_else)
    job = workspace.queue.add(broken, project_id(sandbox))
    await settle(workspace)
    await workspace.close()

    assert job.state in (JobState.FAILED, JobState.INVALID_INPUT)
    assert asked == [job.model_id]  # the engine did ask, and the server's answer kept the model
    assert job.model_id in project(sandbox).models
    assert workspace.empty_models.removed == []


@pytest.mark.asyncio
async def test_a_model_another_job_of_ours_needs_is_kept(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.ifc", BROKEN)
    good = tmp_path / "good.ifc"
    shutil.copy(SAMPLES / "simple-wall.ifc", good)
    workspace = await open_engine(cloud_sandbox)
    jobs = [workspace.queue.add(path, project_id(cloud_sandbox), "shared") for path in (broken, good)]
    await settle(workspace)
    await workspace.close()

    assert [job.state for job in jobs] == [JobState.FAILED, JobState.SUCCESS]
    assert jobs[0].model_id == jobs[1].model_id
    assert jobs[0].model_id in project(cloud_sandbox).models
    assert workspace.empty_models.removed == []


@pytest.mark.asyncio
async def test_retry_after_removal_creates_the_model_again(sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    path = write(tmp_path / "facade.ifc", BROKEN)
    workspace = await open_engine(sandbox)
    job = workspace.queue.add(path, project_id(sandbox))
    await settle(workspace)
    first_model = job.model_id
    assert first_model is not None and first_model not in project(sandbox).models

    shutil.copy(SAMPLES / "simple-wall.ifc", path)  # fixed, exported again
    workspace.queue.retry(job.id)
    await settle(workspace)
    await workspace.close()

    assert job.state is JobState.SUCCESS
    assert job.model_id is not None and job.model_id != first_model
    model: Model = project(sandbox).models[job.model_id]
    assert model.name == "facade" and job.version_id in model.versions


@pytest.mark.asyncio
async def test_a_job_we_only_stopped_waiting_for_keeps_its_model(tmp_path: Path) -> None:
    """The server may still finish it: nothing is removed (a later retry looks again)."""
    server = start_sandbox(Flavor.CLOUD, processing_seconds=600.0)
    try:
        path = write(tmp_path / "slow.ifc", (SAMPLES / "simple-wall.ifc").read_text())
        workspace = await open_engine(server, poll=PollPolicy(first=0.01, processing_limit=0.2))
        job = workspace.queue.add(path, project_id(server))
        await settle(workspace)
        await workspace.close()
    finally:
        server.stop()
    assert job.state is JobState.TIMEOUT and job.error_code == CLIENT_TIMEOUT
    assert job.model_id in project(server).models
    assert workspace.empty_models.removed == []
