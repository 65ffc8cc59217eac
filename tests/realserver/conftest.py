"""The real-server suite: upstream's speckle-server 2.31.14 with its IFC import worker (../shared/realserver).

Runs only when ``SPECKLE_REALSERVER_ENV`` names the env file that ``start.sh`` writes (SERVER, TOKEN, PROJECT,
EMAIL, PASSWORD) and that server answers; otherwise every test here is skipped, saying why. The suite never
starts the server itself except where a test restarts it on purpose (``tests/realserver/run.sh`` starts it).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT

ENV_VAR = "SPECKLE_REALSERVER_ENV"
REALSERVER_DIR = ROOT.parent / "shared" / "realserver"
# Deadlines for what may hang (an upload and its import on a busy 2-core machine), never expected durations.
IMPORT_DEADLINE = 600.0
REQUEST_TIMEOUT = 60.0


def _skip_reason() -> str | None:
    name = os.environ.get(ENV_VAR, "")
    if not name:
        return f"{ENV_VAR} is not set: no real Speckle server to test against (tests/realserver/run.sh starts one)"
    path = Path(name).expanduser()
    if not path.is_file():
        return f"{ENV_VAR}={name}: no such file (run ../shared/realserver/start.sh first)"
    env = read_env(path)
    if not env.get("SERVER") or not env.get("TOKEN") or not env.get("PROJECT"):
        return f"{path} lacks SERVER, TOKEN or PROJECT"
    try:
        answer = httpx.post(env["SERVER"] + "/graphql", json={"query": "{serverInfo{version}}"}, timeout=10)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        return f"the real server at {env['SERVER']} does not answer ({exc})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    mine = [item for item in items if here in Path(str(item.fspath)).parents]
    if not mine:
        return
    reason = _skip_reason()
    for item in mine:
        item.add_marker(pytest.mark.realserver)
        # Above the suite's own deadlines (pyproject's 300 s is for the sandbox): an import on a busy machine.
        item.add_marker(pytest.mark.timeout(int(IMPORT_DEADLINE * 2)))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key.strip()] = value.strip()
    return env


@dataclass(frozen=True)
class RealServer:
    url: str
    token: str
    project: str
    env_file: Path

    def gql(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> Any:
        """The server's own answer: ``data`` of a GraphQL request (fails the test on GraphQL errors)."""
        answer = httpx.post(self.url + "/graphql", json={"query": query, "variables": variables or {}},
                            headers={"authorization": f"Bearer {token or self.token}"}, timeout=REQUEST_TIMEOUT)
        answer.raise_for_status()
        body = answer.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def create_model(self, name: str, project: str | None = None) -> dict[str, str]:
        data = self.gql("mutation($i: CreateModelInput!){modelMutations{create(input:$i){id name}}}",
                        {"i": {"projectId": project or self.project, "name": name}})
        return dict(data["modelMutations"]["create"])

    def models_named(self, name: str, project: str | None = None) -> list[dict[str, str]]:
        data = self.gql("query($p:String!,$s:String){project(id:$p){models(limit:100,filter:{search:$s})"
                        "{items{id name}}}}", {"p": project or self.project, "s": name})
        return [m for m in data["project"]["models"]["items"] if m["name"] == name.lower()]

    def upload_record(self, model_id: str, file_name: str) -> dict[str, Any]:
        """The server's FileUpload of ``file_name`` in that model (the newest), with its version if any."""
        data = self.gql(
            "query($p:String!,$m:String!){project(id:$p){model(id:$m){id name "
            "versions(limit:100){items{id message sourceApplication model{id}}} "
            "uploads(input:{limit:100}){items{id fileName modelId convertedStatus convertedMessage "
            "convertedVersionId}}}}}", {"p": self.project, "m": model_id})
        model = data["project"]["model"]
        uploads = [u for u in model["uploads"]["items"] if u["fileName"] == file_name]
        assert uploads, f"the server has no upload of {file_name} in model {model['name']}"
        record = dict(uploads[0])
        record["model_name"] = model["name"]
        record["versions"] = {v["id"]: v for v in model["versions"]["items"]}
        return record

    def assert_version(self, line: dict[str, Any]) -> dict[str, Any]:
        """The server confirms what a JSON line (or job) claims: a version on that model, from that file."""
        assert line["status"] == "success", line
        record = self.upload_record(line["model_id"], Path(line["file"]).name)
        assert record["convertedStatus"] == 2, record
        assert record["convertedVersionId"] == line["version_id"]
        assert record["modelId"] == line["model_id"]
        version = record["versions"].get(line["version_id"])
        assert version is not None, f"version {line['version_id']} is not on model {record['model_name']}"
        assert version["model"]["id"] == line["model_id"]
        assert line["model"] == record["model_name"]  # the server's (lower-cased) name
        return record


@pytest.fixture(scope="session")
def real() -> RealServer:
    path = Path(os.environ[ENV_VAR]).expanduser()
    env = read_env(path)
    return RealServer(env["SERVER"].rstrip("/"), env["TOKEN"], env["PROJECT"], path)


@pytest.fixture
def unique() -> str:
    """A suffix that keeps this test's models apart from earlier runs' (the server keeps its data)."""
    return secrets.token_hex(3)


@dataclass
class CliRun:
    code: int
    lines: list[dict[str, Any]]
    stderr: str

    def line_for(self, name: str) -> dict[str, Any]:
        return next(line for line in self.lines if Path(line["file"]).name == name)


def run_cli(real: RealServer, *args: str | Path, token: str | None = None, timeout: float = IMPORT_DEADLINE,
            project: str | None = None) -> CliRun:
    """The app's real command, ``speckle-uploader upload --json``, in its own process."""
    command = [sys.executable, "-m", "speckle_uploader", "upload", "--server", real.url,
               "--project", project or real.project, "--json", *map(str, args)]
    env = {**os.environ, "SPECKLE_TOKEN": token if token is not None else real.token}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=ROOT)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return CliRun(done.returncode, lines, done.stderr)


@pytest.fixture
def worker_paused(real: RealServer) -> Iterator[Any]:
    """A function pausing and resuming the IFC import worker (SIGSTOP/SIGCONT to the process group start.sh
    recorded): what it then does is under the test's control. Always resumed at the end."""
    import signal

    pid_file = real.env_file.parent / "run" / "worker.pid"
    if not pid_file.is_file():
        pytest.skip(f"no worker pid file at {pid_file}")
    group = int(pid_file.read_text().strip())

    def pause(stop: bool) -> None:
        os.killpg(group, signal.SIGSTOP if stop else signal.SIGCONT)

    try:
        yield pause
    finally:
        pause(False)
