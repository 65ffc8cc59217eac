"""The engine (sign-in, pickers' listings, the job queue) against upstream's speckle-server 2.31.14."""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from speckle_uploader.jobs import Job, JobQueue, JobState
from speckle_uploader.jobs.policy import EngineSettings, PollPolicy
from speckle_uploader.jobs.workspace import Workspace
from speckle_uploader.speckle import ServerKind, sign_in
from speckle_uploader.speckle.answers import WAITING_FOR_IMPORT
from speckle_uploader.speckle.backends import StatusCallback, Submission, Target
from speckle_uploader.speckle.errors import InvalidTokenError
from speckle_uploader.speckle.models import RemoteState, RemoteStatus
from tests.conftest import SAMPLES, write
from tests.realserver.conftest import IMPORT_DEADLINE, REALSERVER_DIR, RealServer, read_env, run_cli

pytestmark = pytest.mark.asyncio


def copy_sample(tmp_path: Path, unique: str, sample: str = "simple-wall") -> Path:
    target = tmp_path / f"{sample}-{unique}.ifc"
    shutil.copy(SAMPLES / f"{sample}.ifc", target)
    return target


def as_line(job: Job) -> dict[str, Any]:
    return {"status": job.state.value, "file": str(job.path), "model_id": job.model_id, "model": job.model_name,
            "version_id": job.version_id}


async def until_final(queue: JobQueue) -> list[Job]:
    async with asyncio.timeout(IMPORT_DEADLINE):
        return await queue.wait()


async def until_queued(job: Job) -> None:
    """Until the server holds the file (a deadline for what may hang, not an expected time)."""
    async with asyncio.timeout(IMPORT_DEADLINE):
        while job.state is not JobState.QUEUED:
            await asyncio.sleep(0.05)


async def test_sign_in_detects_file_import(real: RealServer) -> None:
    session = await sign_in(real.url, real.token)
    try:
        me = real.gql("{activeUser{id name} serverInfo{version configuration{blobSizeLimitBytes}}}")
        assert session.server.kind is ServerKind.FILE_IMPORT
        assert session.server.version == me["serverInfo"]["version"] == "2.31.14"
        assert session.server.blob_size_limit_bytes == me["serverInfo"]["configuration"]["blobSizeLimitBytes"]
        assert session.server.blob_size_limit_bytes == 100 * 1024 * 1024
        assert (session.user.id, session.user.name) == (me["activeUser"]["id"], me["activeUser"]["name"])
    finally:
        await session.aclose()
    with pytest.raises(InvalidTokenError):
        await sign_in(real.url, "f" * 42)


async def test_projects_and_models_listing_and_creation(real: RealServer, unique: str) -> None:
    session = await sign_in(real.url, real.token, live=False)
    try:
        client = session.client
        page = await client.projects()
        mine = next(p for p in page.items if p.id == real.project)
        assert mine.name == real.gql("query($p:String!){project(id:$p){name}}", {"p": real.project})["project"]["name"]
        assert mine.can_publish.authorized
        created = await client.find_or_create_model(real.project, f"Facade Study {unique.upper()}")
        assert created.name == f"facade study {unique}"  # stored lower-cased
        again = await client.find_or_create_model(real.project, f"FACADE study {unique}")
        assert again.id == created.id
        models = await client.models(real.project, search=f"facade study {unique}")
        assert [m.id for m in models.items] == [created.id]
        assert real.models_named(f"facade study {unique}") == [{"id": created.id, "name": created.name}]
    finally:
        await session.aclose()


def _app_token(real: RealServer, route: str, email: str, password: str) -> str:
    """The bootstrap's way in (``/auth/local/register`` or ``/login``, then the code for an app token with the
    web app's scopes, ``users:invite`` among them)."""
    server = urllib.parse.urlsplit(real.url)
    challenge = secrets.token_hex(16)
    connection = http.client.HTTPConnection(server.hostname or "127.0.0.1", server.port, timeout=30)
    body = {"email": email, "password": password, "name": "Reviewer Test", "company": "test"}
    connection.request("POST", f"{route}?challenge={challenge}", json.dumps(body),
                       {"content-type": "application/json"})
    answer = connection.getresponse()
    location = answer.getheader("location") or ""
    answer.read()
    assert answer.status in (301, 302) and "access_code=" in location, (answer.status, location)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["access_code"][0]
    token = httpx.post(real.url + "/auth/token", json={"appId": "spklwebapp", "appSecret": "spklwebapp",
                                                        "accessCode": code, "challenge": challenge}, timeout=30)
    token.raise_for_status()
    return str(token.json()["token"])


def _reviewer(real: RealServer, project_id: str, unique: str) -> str:
    """A second user, registered the bootstrap's way, invited to the project as a reviewer and accepting;
    returns their personal access token with the app's usual scopes."""
    env = read_env(real.env_file)
    owner = _app_token(real, "/auth/local/login", env["EMAIL"], env["PASSWORD"])
    reviewer = _app_token(real, "/auth/local/register", f"reviewer-{unique}@example.org", f"Reviewer-{unique}-2026!")
    reviewer_id = real.gql("{activeUser{id}}", token=reviewer)["activeUser"]["id"]
    real.gql("mutation($p: ID!, $i: ProjectInviteCreateInput!){projectMutations{invites{create(projectId:$p,"
             "input:$i){id}}}}", {"p": project_id, "i": {"userId": reviewer_id, "role": "stream:reviewer"}},
             token=owner)
    invites = real.gql("{activeUser{projectInvites{projectId token}}}", token=reviewer)["activeUser"]["projectInvites"]
    invite = next(i for i in invites if i["projectId"] == project_id)
    assert real.gql("mutation($i: ProjectInviteUseInput!){projectMutations{invites{use(input:$i)}}}",
                    {"i": {"projectId": project_id, "token": invite["token"], "accept": True}},
                    token=reviewer)["projectMutations"]["invites"]["use"]
    return str(real.gql("mutation($t: ApiTokenCreateInput!){apiTokenCreate(token:$t)}",
                        {"t": {"name": "reviewer", "scopes": ["streams:read", "streams:write", "profile:read"]}},
                        token=reviewer)["apiTokenCreate"])


async def test_a_reviewer_cannot_upload(real: RealServer, sample_ifc: Path, unique: str) -> None:
    project = real.gql("mutation($i: ProjectCreateInput){projectMutations{create(input:$i){id}}}",
                       {"i": {"name": f"Reviewed {unique}", "visibility": "PRIVATE"}})["projectMutations"]["create"]
    reviewer_token = _reviewer(real, project["id"], unique)
    seen = real.gql("query($p:String!){project(id:$p){role permissions{canPublish{authorized message}}}}",
                    {"p": project["id"]}, token=reviewer_token)["project"]
    assert seen["role"] == "stream:reviewer"
    assert not seen["permissions"]["canPublish"]["authorized"]

    run = run_cli(real, sample_ifc, token=reviewer_token, project=project["id"])
    assert run.code == 2 and run.lines == []
    assert f"You cannot upload to “Reviewed {unique}”" in run.stderr
    assert seen["permissions"]["canPublish"]["message"] in run.stderr  # the server's reason, verbatim
    counts = real.gql("query($p:String!){project(id:$p){versions{totalCount}}}", {"p": project["id"]})["project"]
    assert counts["versions"]["totalCount"] == 0


class Instrumented:
    """Wraps a backend's watch callback and its status poll: what arrived by push, what by polling."""

    def __init__(self, queue: JobQueue) -> None:
        self.pushed: list[RemoteStatus] = []
        self.polled: list[RemoteStatus] = []
        backend = queue.backend
        watch, status = backend.watch, backend.status

        def watching(submission: Submission, target: Target, on_status: StatusCallback) -> Callable[[], None]:
            def recorded(update: RemoteStatus) -> None:
                self.pushed.append(update)
                on_status(update)

            return watch(submission, target, recorded)

        async def polling(submission: Submission, target: Target) -> RemoteStatus:
            answer = await status(submission, target)
            self.polled.append(answer)
            return answer

        backend.watch = watching  # type: ignore[method-assign]
        backend.status = polling  # type: ignore[method-assign]


async def test_a_refused_type_is_learnt_for_the_session(real: RealServer, tmp_path: Path, unique: str) -> None:
    """Were our list stale (.obj believed taken), the server's UNSUPPORTED_FILE_TYPE teaches the session: the
    next .obj is refused before a byte is sent."""
    session = await sign_in(real.url, real.token, live=False)
    session.accepted_extensions.add("obj")
    mesh = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    async with Workspace(session, settings=EngineSettings(live=False)) as workspace:
        first = workspace.queue.add(write(tmp_path / f"a-{unique}.obj", mesh), real.project, f"learn-{unique}")
        await until_final(workspace.queue)
        second = workspace.queue.add(write(tmp_path / f"b-{unique}.obj", mesh), real.project, f"learn-{unique}")
        await until_final(workspace.queue)
    assert first.error_code == "UNSUPPORTED_FILE_TYPE" and first.file_id is not None  # sent, then refused
    assert second.state is JobState.FAILED and second.file_id is None and "does not import .obj" in second.message
    uploads = real.gql("query($p:String!,$m:String!){project(id:$p){model(id:$m){uploads(input:{limit:50})"
                       "{items{fileName}}}}}", {"p": real.project, "m": first.model_id})
    assert second.file_name not in [u["fileName"] for u in uploads["project"]["model"]["uploads"]["items"]]


async def test_live_status_arrives_by_push(real: RealServer, tmp_path: Path, unique: str) -> None:
    # Polling so slow that within the deadline only a push can bring the final state.
    slow = PollPolicy(first=3600, factor=1, maximum=3600, live_interval=3600)
    async with await Workspace.open(real.url, real.token, settings=EngineSettings(poll=slow)) as workspace:
        queue = workspace.queue
        seen = Instrumented(queue)
        job = queue.add(copy_sample(tmp_path, unique), real.project, f"live-{unique}")
        await until_final(queue)
    assert job.state is JobState.SUCCESS, job.message
    assert [s.state for s in seen.pushed][-1] is RemoteState.SUCCESS
    assert seen.pushed[-1].version_id == job.version_id
    assert all(not JobState.from_remote(s.state).is_final for s in seen.polled)  # no poll brought the end
    real.assert_version(as_line(job))


async def test_queued_row_says_queued_or_converting(real: RealServer, tmp_path: Path, unique: str,
                                                    worker_paused: Callable[[bool], None]) -> None:
    async with await Workspace.open(real.url, real.token) as workspace:
        queue = workspace.queue
        worker_paused(True)
        job = queue.add(copy_sample(tmp_path, unique), real.project, f"waiting-{unique}")
        await until_queued(job)
        assert job.message == WAITING_FOR_IMPORT
        record = real.upload_record(str(job.model_id), job.file_name)
        assert record["convertedStatus"] == 0  # the server's own answer while its worker has it
        worker_paused(False)
        await until_final(queue)
    real.assert_version(as_line(job))


async def test_legacy_rest_upload_forced(real: RealServer, tmp_path: Path, unique: str) -> None:
    session = await sign_in(real.url, real.token)
    # As if detection had found an older server: the engine assembled for a legacy REST one.
    session.server = dataclasses.replace(session.server, kind=ServerKind.LEGACY_REST)
    async with Workspace(session) as workspace:
        job = workspace.queue.add(copy_sample(tmp_path, unique, "column-grid"), real.project, f"Legacy {unique}")
        await until_final(workspace.queue)
    assert job.state is JobState.SUCCESS, job.message
    real.assert_version(as_line(job))


async def test_server_restarted_mid_import(real: RealServer, tmp_path: Path, unique: str,
                                           worker_paused: Callable[[bool], None]) -> None:
    """The server goes down while it holds the file and comes back (start.sh again, as its README says): the
    app keeps following and ends in the state the server reports."""
    start = REALSERVER_DIR / "start.sh"
    server_pid = real.env_file.parent / "run" / "server.pid"
    if not start.is_file() or not server_pid.is_file():
        pytest.skip(f"cannot restart the server here: {start} or {server_pid} missing")
    settings = EngineSettings(poll=PollPolicy(first=0.5, maximum=2.0, give_up_after=IMPORT_DEADLINE))
    async with await Workspace.open(real.url, real.token, settings=settings) as workspace:
        queue = workspace.queue
        worker_paused(True)  # the import cannot end before the restart: the worker holds it until resumed
        job = queue.add(copy_sample(tmp_path, unique, "two-storey-slabs"), real.project, f"restart-{unique}")
        await until_queued(job)
        group = int(server_pid.read_text().strip())
        os.killpg(group, signal.SIGTERM)
        async with asyncio.timeout(IMPORT_DEADLINE):  # gone, so that start.sh starts it again
            while _alive(group):
                await asyncio.sleep(0.1)
        async with httpx.AsyncClient(timeout=5) as probe:
            with pytest.raises(httpx.TransportError):  # really down
                await probe.post(real.url + "/graphql", json={"query": "{serverInfo{version}}"})
        started = await asyncio.to_thread(subprocess.run, ["bash", str(start)], capture_output=True, text=True,
                                          timeout=IMPORT_DEADLINE, check=False)
        assert started.returncode == 0, started.stderr[-2000:]
        worker_paused(False)
        await until_final(queue)
    assert job.state is JobState.SUCCESS, job.message
    real.assert_version(as_line(job))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
