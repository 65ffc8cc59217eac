"""The command line takes what people paste (a loopback address without scheme, ``/graphql``, a project URL
from the browser) and a speed limit for all uploads together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speckle_uploader import cli
from speckle_uploader.sandbox import ThreadedSandbox
from tests.conftest import SAMPLES, project_id
from tests.keyrings import MemoryKeyring


@pytest.fixture(autouse=True)
def token(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECKLE_TOKEN", "sandbox-demo-token")


def test_a_project_url_names_server_and_project(cloud_sandbox: ThreadedSandbox,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    pasted = f"{cloud_sandbox.url.removeprefix('http://')}/projects/{project_id(cloud_sandbox)}/models/xyz"
    code = cli.main(["upload", "--server", pasted, "--model", "pasted", "--json", "--limit-rate", "50M",
                     str(SAMPLES / "simple-wall.ifc")])
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert code == 0 and line["status"] == "success" and line["project_id"] == project_id(cloud_sandbox)
    assert line["url"].startswith(cloud_sandbox.url + "/projects/")


@pytest.mark.parametrize(("args", "message"), [
    (["--limit-rate", "fast"], "--limit-rate: “fast” is not a speed"),
    ([], "--project is needed (or a project URL as --server)"),
])
def test_bad_arguments_get_one_sentence(cloud_sandbox: ThreadedSandbox, capsys: pytest.CaptureFixture[str],
                                        args: list[str], message: str) -> None:
    project = ["--project", project_id(cloud_sandbox)] if args else []
    code = cli.main(["upload", "--server", cloud_sandbox.url, *project, *args, str(Path(SAMPLES / "simple-wall.ifc"))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == cli.EXIT_USAGE and len(err) == 1 and message in err[0]
