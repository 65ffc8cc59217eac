"""The whole upload, against the sandbox, for each of the three kinds of Speckle server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from speckle_uploader.jobs import Job, JobEvent, JobState
from speckle_uploader.sandbox import Flavor, ThreadedSandbox
from speckle_uploader.speckle.models import ServerKind
from speckle_uploader.speckle.session import Session, sign_in
from tests.conftest import SAMPLES, open_engine, project_id, wait_until, write

EXPECTED_KIND = {
    Flavor.CLOUD: ServerKind.CLOUD_INGESTION,
    Flavor.FILE_IMPORT: ServerKind.FILE_IMPORT,
    Flavor.LEGACY: ServerKind.LEGACY_REST,
}


async def upload(server: ThreadedSandbox, token: str, paths: list[Path], model: str | None = None,
                 check_now: bool = True, **queue_options: object) -> tuple[list[Job], Session]:
    workspace = await open_engine(server, **queue_options)  # type: ignore[arg-type]
    session, queue = workspace.session, workspace.queue
    for path in paths:
        queue.add(path, project_id(server), model, check_now=check_now)
    jobs = await queue.wait()
    await workspace.close()
    return jobs, session


@pytest.mark.asyncio
async def test_detects_server_kind(sandbox: ThreadedSandbox, token: str) -> None:
    session = await sign_in(sandbox.url, token)
    await session.aclose()
    assert session.server.kind is EXPECTED_KIND[sandbox.sandbox.flavor]
    assert session.server.blob_size_limit_bytes == 100 * 1024 * 1024
    assert session.user.name == "Alex Morgan"


@pytest.mark.parametrize("check_now", [True, False], ids=["checked-when-added", "checked-in-a-worker-thread"])
@pytest.mark.asyncio
async def test_sample_files_become_versions(sandbox: ThreadedSandbox, token: str, tmp_path: Path,
                                            check_now: bool) -> None:
    paths = []
    for sample in sorted(SAMPLES.glob("*.ifc")):
        paths.append(tmp_path / sample.name)
        shutil.copy(sample, paths[-1])
    jobs, _ = await upload(sandbox, token, paths, check_now=check_now)

    assert [job.state for job in jobs] == [JobState.SUCCESS] * len(paths)
    project = sandbox.sandbox.store.projects[project_id(sandbox)]
    for job in jobs:
        assert job.version_id and job.model_id
        assert job.version_id in project.models[job.model_id].versions
        assert job.bytes_sent == job.size == job.path.stat().st_size
        # Without --model each file gets a model named after it (the server lower-cases names).
        assert project.models[job.model_id].name == job.path.stem.lower()


@pytest.mark.asyncio
async def test_bad_ifc_fails_with_the_servers_reason(sandbox: ThreadedSandbox, token: str, tmp_path: Path) -> None:
    truncated = write(tmp_path / "truncated.ifc", (SAMPLES / "simple-wall.ifc").read_text()[:900])
    not_ifc = write(tmp_path / "notes.ifc", "These are meeting notes, not a model.\n")
    jobs, _ = await upload(sandbox, token, [truncated, not_ifc])

    by_name = {job.file_name: job for job in jobs}
    assert by_name["truncated.ifc"].state is JobState.FAILED
    assert "truncated" in by_name["truncated.ifc"].message
    assert "not an IFC file" in by_name["notes.ifc"].message
    # The cloud reports a file that is not IFC at all as invalid input; open-source servers as an error.
    expected = JobState.INVALID_INPUT if sandbox.sandbox.flavor is Flavor.CLOUD else JobState.FAILED
    assert by_name["notes.ifc"].state is expected


@pytest.mark.parametrize("check_now", [True, False], ids=["checked-when-added", "checked-in-a-worker-thread"])
@pytest.mark.asyncio
async def test_files_refused_before_any_byte_is_sent(sandbox: ThreadedSandbox, token: str, tmp_path: Path,
                                                     check_now: bool) -> None:
    sandbox.call(setattr, sandbox.sandbox.store.config, "blob_size_limit_bytes", 1000)
    big = write(tmp_path / "big.ifc", (SAMPLES / "simple-wall.ifc").read_bytes())  # 2 KB > 1000 bytes
    empty = write(tmp_path / "empty.ifc", b"")
    pdf = write(tmp_path / "drawing.pdf", b"%PDF-1.7")
    folder = tmp_path / "folder.ifc"
    folder.mkdir()
    missing = tmp_path / "missing.ifc"
    jobs, _ = await upload(sandbox, token, [big, empty, pdf, folder, missing], check_now=check_now)

    assert jobs[0].size == big.stat().st_size  # shown even for a refused file
    messages = {job.file_name: job.message for job in jobs}
    assert all(job.state is JobState.FAILED for job in jobs)
    assert "The file is 2.1 KB, over this server's limit of 1000 bytes" in messages["big.ifc"]
    assert "empty" in messages["empty.ifc"]
    assert "does not import .pdf files" in messages["drawing.pdf"]
    assert "folder" in messages["folder.ifc"]
    assert "No such file" in messages["missing.ifc"]
    uploads = [r for r in sandbox.sandbox.requests if r.method in ("PUT",) or r.path.startswith("/api/file")]
    assert uploads == []


@pytest.mark.asyncio
async def test_model_found_case_insensitively_or_created(sandbox: ThreadedSandbox, token: str,
                                                         sample_ifc: Path) -> None:
    store = sandbox.sandbox.store
    project = store.projects[project_id(sandbox)]
    existing = next(m for m in project.models.values() if m.name == "structure")
    jobs, _ = await upload(sandbox, token, [sample_ifc], model="STRUCTURE")
    assert jobs[0].state is JobState.SUCCESS
    assert jobs[0].model_id == existing.id

    jobs, _ = await upload(sandbox, token, [sample_ifc, sample_ifc], model="Coordination Model")
    assert {job.state for job in jobs} == {JobState.SUCCESS}
    created = [m for m in project.models.values() if m.name == "coordination model"]
    assert len(created) == 1  # two jobs, one model
    assert {job.model_id for job in jobs} == {created[0].id}


@pytest.mark.asyncio
async def test_token_never_reaches_blob_storage(sandbox: ThreadedSandbox, token: str, sample_ifc: Path) -> None:
    jobs, _ = await upload(sandbox, token, [sample_ifc])
    assert jobs[0].state is JobState.SUCCESS
    requests = sandbox.sandbox.requests
    blob_puts = [r for r in requests if r.path.startswith("/blob/")]
    server_calls = [r for r in requests if not r.path.startswith("/blob/")]
    if sandbox.sandbox.flavor is Flavor.LEGACY:
        assert blob_puts == []
    else:
        assert len(blob_puts) == 1
        assert "Authorization" not in blob_puts[0].headers
        assert blob_puts[0].headers["Content-Length"] == str(sample_ifc.stat().st_size)
        assert "Transfer-Encoding" not in blob_puts[0].headers
    if sandbox.sandbox.flavor is Flavor.CLOUD:
        assert blob_puts[0].headers["x-ms-blob-type"] == "BlockBlob"  # additionalRequestHeaders were sent
    assert all(r.headers.get("Authorization") == f"Bearer {token}" for r in server_calls)


@pytest.mark.asyncio
async def test_concurrency_limit_is_respected(sandbox: ThreadedSandbox, token: str, tmp_path: Path) -> None:
    paths = [write(tmp_path / f"file-{i}.ifc", (SAMPLES / "simple-wall.ifc").read_bytes()) for i in range(6)]
    workspace = await open_engine(sandbox, concurrency=2)
    queue = workspace.queue
    most = 0

    def count(event: JobEvent, job: Job) -> None:
        nonlocal most
        busy = sum(j.state in (JobState.UPLOADING, JobState.REGISTERING) for j in queue.jobs)
        most = max(most, busy)

    queue.subscribe(count)
    for path in paths:
        queue.add(path, project_id(sandbox), "batch")
    jobs = await queue.wait()
    await workspace.close()
    assert {job.state for job in jobs} == {JobState.SUCCESS}
    assert most == 2


@pytest.mark.asyncio
async def test_cancel_while_waiting_or_uploading(sandbox: ThreadedSandbox, token: str, tmp_path: Path) -> None:
    big = write(tmp_path / "big.ifc", (SAMPLES / "simple-wall.ifc").read_bytes() + b" " * (60 * 1024 * 1024))
    workspace = await open_engine(sandbox, concurrency=1)
    queue = workspace.queue
    first = queue.add(big, project_id(sandbox), "cancelled")
    second = queue.add(big, project_id(sandbox), "cancelled")
    await wait_until(lambda: first.bytes_sent != 0)
    queue.cancel(first.id)
    queue.cancel(second.id)
    await queue.wait()
    await workspace.close()
    assert first.state is JobState.CANCELLED and second.state is JobState.CANCELLED
    assert 0 < first.bytes_sent < first.size
    assert second.bytes_sent == 0
    assert "Cancelled" in first.message


@pytest.mark.asyncio
async def test_server_unsupported_type_is_the_last_word(fileimport_sandbox: ThreadedSandbox, token: str,
                                                        tmp_path: Path) -> None:
    """With the type check off, the server's own refusal reaches the user verbatim: startFileImport's
    UNSUPPORTED_FILE_TYPE, as a real 2.31.14 server answers (its next-gen importer takes IFC only)."""
    drawing = write(tmp_path / "plan.dwg", b"AC1032 not really a drawing")
    jobs, _ = await upload(fileimport_sandbox, token, [drawing], check_type=False)
    assert jobs[0].state is JobState.FAILED and jobs[0].error_code == "UNSUPPORTED_FILE_TYPE"
    assert jobs[0].message == ("The server does not import this kind of file: "
                               "The provided file type is not supported for importing.")


@pytest.mark.asyncio
async def test_cloud_cancels_processing(cloud_sandbox: ThreadedSandbox, token: str, sample_ifc: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.store.config, "processing_seconds", 3.0)
    workspace = await open_engine(cloud_sandbox)
    queue = workspace.queue
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "to cancel")
    await wait_until(lambda: not (job.state is not JobState.PROCESSING))
    queue.cancel(job.id)
    await queue.wait()
    await workspace.close()
    assert job.state is JobState.CANCELLED
    assert job.message == "Cancelled at the user's request"
    ingestion = cloud_sandbox.sandbox.store.ingestions[job.tracking_id or ""]
    assert ingestion.cancellation_requested and ingestion.status == "cancelled"


@pytest.mark.asyncio
async def test_open_source_says_it_cannot_cancel(fileimport_sandbox: ThreadedSandbox, token: str,
                                                 sample_ifc: Path) -> None:
    fileimport_sandbox.call(setattr, fileimport_sandbox.sandbox.store.config, "processing_seconds", 1.0)
    workspace = await open_engine(fileimport_sandbox)
    queue = workspace.queue
    job = queue.add(sample_ifc, project_id(fileimport_sandbox), "not cancellable")
    messages: list[str] = []
    queue.subscribe(lambda event, j: messages.append(j.message))
    await wait_until(lambda: bool(job.state.on_server))
    queue.cancel(job.id)
    await queue.wait()
    await workspace.close()
    assert any("cannot stop a file once it is processing" in m for m in messages)
    assert job.state is JobState.SUCCESS  # the truth: the server carried on


@pytest.mark.asyncio
async def test_server_timeout_and_retry(cloud_sandbox: ThreadedSandbox, token: str, sample_ifc: Path) -> None:
    store = cloud_sandbox.sandbox.store
    cloud_sandbox.call(store.forced_outcomes.__setitem__, sample_ifc.name, ("timeout", "Import took too long"))
    workspace = await open_engine(cloud_sandbox)
    queue = workspace.queue
    job = queue.add(sample_ifc, project_id(cloud_sandbox), "timeouts")
    await queue.wait()
    assert job.state is JobState.TIMEOUT
    assert job.message == "Import took too long"
    first_file_id = job.file_id

    cloud_sandbox.call(store.forced_outcomes.clear)
    queue.retry(job.id)
    await queue.wait()
    await workspace.close()
    assert job.state is JobState.SUCCESS
    assert job.file_id != first_file_id  # a retry is a fresh upload: a fileId cannot be registered twice
