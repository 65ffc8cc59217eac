"""The headless command: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from speckle_uploader import cli
from speckle_uploader.sandbox import ThreadedSandbox
from tests.conftest import SAMPLES, project_id, write
from tests.keyrings import MemoryKeyring


@pytest.fixture(autouse=True)
def isolated_keyring(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    monkeypatch.delenv("SPECKLE_TOKEN", raising=False)
    return memory_keyring


def run(*args: str) -> int:
    return cli.main(list(args))


def test_json_lines_and_exit_codes(sandbox: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("SPECKLE_TOKEN", "sandbox-demo-token")
    good = SAMPLES / "simple-wall.ifc"
    bad = write(tmp_path / "broken.ifc", "not an ifc")
    code = run("upload", "--server", sandbox.url, "--project", project_id(sandbox), "--model", "CLI", "--json",
               str(good), str(bad))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == cli.EXIT_FAILED
    by_file = {Path(line["file"]).name: line for line in lines}
    assert by_file["simple-wall.ifc"]["status"] == "success"
    assert by_file["simple-wall.ifc"]["version_id"]
    assert by_file["simple-wall.ifc"]["error"] is None
    assert by_file["simple-wall.ifc"]["url"].startswith(f"{sandbox.url}/projects/")
    assert by_file["broken.ifc"]["status"] in ("failed", "invalidInput")
    assert "not an IFC file" in by_file["broken.ifc"]["error"]

    assert run("upload", "--server", sandbox.url, "--project", project_id(sandbox), "--json", str(good)) == 0


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("token", ["--project", "nosuchproj"], "There is no project nosuchproj on"),
        ("token", ["--project", "@campus"], "You cannot upload to “Campus Masterplan”: Your role on this project"),
        ("badtoken", ["--project", "@riverside"], "refused the access token"),
        ("none", ["--project", "@riverside"], "No token for http://127.0.0.1"),
        ("token", ["--project", "@riverside", "--concurrency", "0"], "--concurrency must be at least 1"),
    ],
)
def test_one_line_errors(cloud_sandbox: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str], setup: str, args: list[str], message: str) -> None:
    if setup != "none":
        monkeypatch.setenv("SPECKLE_TOKEN", "sandbox-demo-token" if setup == "token" else "revoked")
    names = {"@campus": "Campus Masterplan", "@riverside": "Riverside Library"}
    args = [project_id(cloud_sandbox, names[a]) if a in names else a for a in args]
    code = run("upload", "--server", cloud_sandbox.url, *args, str(SAMPLES / "simple-wall.ifc"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == cli.EXIT_USAGE
    assert len(err) == 1 and err[0].startswith("speckle-uploader: ")
    assert message in err[0]


def test_unreachable_server(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECKLE_TOKEN", "x")
    assert run("upload", "--server", "http://127.0.0.1:9", "--project", "p", str(SAMPLES / "simple-wall.ifc")) == 2
    assert "Cannot reach 127.0.0.1:9" in capsys.readouterr().err


def test_login_stores_token_in_keychain_then_upload_uses_it(
        cloud_sandbox: ThreadedSandbox, isolated_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("sandbox-demo-token\n"))
    assert run("login", "--server", cloud_sandbox.url, "--token-stdin") == 0
    assert "as Alex Morgan" in capsys.readouterr().err
    assert ("speckle-uploader", cloud_sandbox.url) in isolated_keyring.secrets
    assert run("upload", "--server", cloud_sandbox.url, "--project", project_id(cloud_sandbox),
               str(SAMPLES / "simple-wall.ifc")) == 0
    assert "1 of 1 files became model versions." in capsys.readouterr().err
    assert run("logout", "--server", cloud_sandbox.url) == 0
    assert isolated_keyring.secrets == {}


def test_login_with_bad_token_stores_nothing(cloud_sandbox: ThreadedSandbox, isolated_keyring: MemoryKeyring,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("wrong\n"))
    assert run("login", "--server", cloud_sandbox.url, "--token-stdin") == 2
    assert isolated_keyring.secrets == {}


def test_projects_listing(cloud_sandbox: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPECKLE_TOKEN", "sandbox-demo-token")
    assert run("projects", "--server", cloud_sandbox.url) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 6
    assert any("Campus Masterplan  (read-only:" in line for line in out)


def test_real_process_never_shows_a_traceback(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    env = {**os.environ, "SPECKLE_TOKEN": "sandbox-demo-token"}
    empty = write(tmp_path / "empty.ifc", b"")
    result = subprocess.run(
        [sys.executable, "-m", "speckle_uploader", "upload", "--server", cloud_sandbox.url,
         "--project", project_id(cloud_sandbox), str(empty), str(tmp_path / "missing.ifc"), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "0 of 3 files became model versions." in result.stderr
    assert "The file is empty (0 bytes)" in result.stderr
