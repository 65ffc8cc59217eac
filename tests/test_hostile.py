"""A server that misbehaves on purpose (sandbox/hostile.py): the token stays home, nothing hangs or grows
without bound, and every bad answer is one sentence (exit 2), never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckle_uploader import cli
from speckle_uploader.sandbox import DEMO_TOKEN, Flavor, ThreadedSandbox
from speckle_uploader.speckle import operations as ops
from speckle_uploader.speckle.client import SpeckleClient
from speckle_uploader.speckle.errors import ServerUnreachableError, UnexpectedResponseError
from speckle_uploader.speckle.http import SpeckleHttp
from speckle_uploader.speckle.legacy_rest import upload_legacy
from speckle_uploader.speckle.subscriptions import SubscriptionClient
from tests.conftest import ROOT, SAMPLES, project_id, start_sandbox
from tests.keyrings import MemoryKeyring

ESCAPE_CHARACTERS = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.fixture
def hostile() -> Iterator[ThreadedSandbox]:
    """A cloud sandbox whose misbehaviour a test switches on with ``set_hostile``."""
    server = start_sandbox(Flavor.CLOUD)
    yield server
    server.stop()


def set_hostile(server: ThreadedSandbox, *tricks: str, interval: float = 10.0) -> None:
    server.call(setattr, server.sandbox.config, "hostile_interval", interval)
    server.call(setattr, server.sandbox.config, "hostile", frozenset(tricks))


@pytest.fixture
def legacy_sandbox() -> Iterator[ThreadedSandbox]:
    server = start_sandbox(Flavor.LEGACY)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def token_in_environment(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPECKLE_TOKEN", DEMO_TOKEN)
    monkeypatch.setenv("SPECKLE_UPLOADER_HOME", str(tmp_path / "home"))


def run(*args: str) -> int:
    return cli.main(list(args))


# -- the token goes nowhere else ----------------------------------------------------------------------
@pytest.mark.asyncio
async def test_websocket_never_follows_a_redirect(hostile: ThreadedSandbox) -> None:
    set_hostile(hostile, "ws-redirect")
    live = SubscriptionClient(hostile.url, DEMO_TOKEN, max_backoff=0.2)
    live.subscribe(ops.PENDING_VERSIONS_UPDATED, {"projectId": project_id(hostile)}, lambda _data: None)

    def upgrades() -> int:
        return sum(1 for r in list(hostile.sandbox.requests) if r.method == "GET" and r.path == "/graphql")

    try:
        async with asyncio.timeout(30):  # a deadline for what may hang, not a measurement
            # Three upgrade attempts: the redirect was answered, refused, and the client went on trying.
            while upgrades() < 3 and not hostile.sandbox.hostile_log.followed_redirects:
                await asyncio.sleep(0.05)
    finally:
        await live.aclose()
    assert hostile.sandbox.hostile_log.followed_redirects == []
    assert live.connects == 0


def test_an_echoed_token_is_masked_on_the_terminal(hostile: ThreadedSandbox,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    set_hostile(hostile, "echo-token")
    assert run("projects", "--server", hostile.url) == cli.EXIT_USAGE
    out, err = capsys.readouterr()
    assert DEMO_TOKEN not in out + err
    assert "Forbidden for Bearer ***" in err

    set_hostile(hostile, "echo-token-sign-in")
    assert run("upload", "--server", hostile.url, "--project", "p", "--json", str(SAMPLES / "simple-wall.ifc")) == 2
    out, err = capsys.readouterr()
    assert DEMO_TOKEN not in out + err
    assert err.count("\n") == 1


# -- nothing waits forever, nothing grows without bound -----------------------------------------------
@pytest.mark.asyncio
async def test_a_trickling_answer_ends_at_the_deadline(hostile: ThreadedSandbox) -> None:
    set_hostile(hostile, "stall-sign-in", interval=0.3)  # one byte every 0.3 s: httpx's read timeout never fires
    http = SpeckleHttp(hostile.url, DEMO_TOKEN, deadline=1.0)
    try:
        async with asyncio.timeout(30):  # the test's own guard; the deadline under test is 1 s
            with pytest.raises(ServerUnreachableError) as caught:
                await SpeckleClient(hostile.url, DEMO_TOKEN, http=http).active_user()
    finally:
        await http.aclose()
    assert "did not finish its answer within 1 s" in str(caught.value)
    assert caught.value.retryable
    assert hostile.sandbox.hostile_log.stalled == 1


@pytest.mark.asyncio
async def test_an_endless_answer_is_refused_past_the_cap(hostile: ThreadedSandbox) -> None:
    set_hostile(hostile, "endless-body")
    http = SpeckleHttp(hostile.url, DEMO_TOKEN)  # the default cap (8 MiB) and deadline
    try:
        async with asyncio.timeout(60):
            with pytest.raises(UnexpectedResponseError) as caught:
                await http.graphql(ops.PROJECT, {"projectId": "anything"})
    finally:
        await http.aclose()
    assert "the server's answer was too large" in str(caught.value).lower()


@pytest.mark.asyncio
@pytest.mark.parametrize("trick", ["stall-rest", "endless-rest"])
async def test_the_legacy_upload_answer_is_bounded_too(legacy_sandbox: ThreadedSandbox, trick: str) -> None:
    """The deadline counts from the last byte sent (a big file may take hours to send); the answer is capped."""
    set_hostile(legacy_sandbox, trick, interval=0.3)
    # A short deadline where the answer trickles; a long one where the cap must be what stops it.
    http = SpeckleHttp(legacy_sandbox.url, DEMO_TOKEN, deadline=1.0 if trick == "stall-rest" else 60.0)
    sample = SAMPLES / "simple-wall.ifc"
    try:
        async with asyncio.timeout(120):
            with pytest.raises((ServerUnreachableError, UnexpectedResponseError)) as caught:
                await upload_legacy(http, project_id(legacy_sandbox), "architecture", sample, sample.stat().st_size)
    finally:
        await http.aclose()
    expected = "did not finish its answer within 1 s" if trick == "stall-rest" else "answer was too large"
    assert expected in str(caught.value)


@pytest.mark.asyncio
async def test_a_repeated_cursor_ends_the_paging(hostile: ThreadedSandbox) -> None:
    set_hostile(hostile, "repeat-cursor")
    client = SpeckleClient(hostile.url, DEMO_TOKEN)
    try:
        async with asyncio.timeout(30):
            assert await client.find_model(project_id(hostile), "arch") is None  # "architecture" matches the search
            projects = [p async for p in client.all_projects()]
    finally:
        await client.aclose()
    assert len(projects) == len({p.id for p in projects}) > 0
    models_pages = sum(1 for r in hostile.sandbox.requests if r.path == "/graphql")
    assert models_pages < 20


def test_projects_on_a_repeated_cursor_prints_each_project_once(hostile: ThreadedSandbox, tmp_path: Path) -> None:
    set_hostile(hostile, "repeat-cursor")
    env = {**os.environ, "SPECKLE_TOKEN": DEMO_TOKEN, "SPECKLE_UPLOADER_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "speckle_uploader", "projects", "--server", hostile.url],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and len(lines) == len(set(lines))


# -- bad answers get a sentence -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("trick", "words"),
    [
        ("nested-json", "not understood"),
        ("errors-object", "not understood"),
        ("user-without-name", "not understood"),
        ("string-for-object", "not understood"),
        ("negative-limit", "blobSizeLimitBytes"),
        ("html", "does not answer like a Speckle server"),
    ],
)
def test_a_malformed_sign_in_is_one_sentence_and_exit_2(hostile: ThreadedSandbox, capsys: pytest.CaptureFixture[str],
                                                        trick: str, words: str) -> None:
    set_hostile(hostile, trick)
    assert run("projects", "--server", hostile.url) == cli.EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("speckle-uploader: ") and err.count("\n") == 1, err
    assert words in err
    assert "Traceback" not in err


def test_server_text_reaches_the_terminal_without_control_characters(
        hostile: ThreadedSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    set_hostile(hostile, "control-chars")
    assert run("projects", "--server", hostile.url) == cli.EXIT_OK
    out, err = capsys.readouterr()
    assert "Riverside Library" in out
    assert not any(c in out + err for c in ESCAPE_CHARACTERS)
    assert "\n  ✓ all files uploaded fine" not in out  # the fake line stays inside its own line

    run("upload", "--server", hostile.url, "--project", project_id(hostile), "--model", "poisoned",
        str(SAMPLES / "simple-wall.ifc"))
    out, err = capsys.readouterr()
    assert err and not any(c in out + err for c in ESCAPE_CHARACTERS)
    assert "\n  ✓ all files uploaded fine" not in err


# -- local oddities -----------------------------------------------------------------------------------
@pytest.mark.parametrize("pasted", [DEMO_TOKEN + "\u00a0", "\u200b" + DEMO_TOKEN + "\r\n"])
def test_a_pasted_token_loses_its_invisible_characters(hostile: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], pasted: str) -> None:
    monkeypatch.setenv("SPECKLE_TOKEN", pasted)
    assert run("projects", "--server", hostile.url) == cli.EXIT_OK
    assert "Riverside Library" in capsys.readouterr().out


def test_a_token_with_other_non_ascii_is_refused_in_a_sentence(hostile: ThreadedSandbox,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPECKLE_TOKEN", "sandbox-démo-token")
    assert run("projects", "--server", hostile.url) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "not plain ASCII (U+00E9 at position 10)" in err and err.count("\n") == 1


def test_an_unusable_log_folder_does_not_stop_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the app's folder should be")
    monkeypatch.setenv("SPECKLE_UPLOADER_HOME", str(blocker))
    assert run("logout", "--server", "https://speckle.example.com") == cli.EXIT_OK
    assert "Forgot the token" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32" or sys.getfilesystemencoding() != "utf-8",
                    reason="needs a file system that takes bytes that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_uploaded_with_its_json_line(
        fileimport_sandbox: ThreadedSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = os.fsdecode(b"caf\xe9-wall.ifc")  # Latin-1 bytes: a lone surrogate in Python
    path = tmp_path / name
    path.write_bytes((SAMPLES / "simple-wall.ifc").read_bytes())
    code = run("upload", "--server", fileimport_sandbox.url, "--project", project_id(fileimport_sandbox),
               "--json", str(path))
    line = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_OK, line
    assert line["status"] == "success"
    assert line["file"].endswith("caf\ufffd-wall.ifc")
    assert line["model"] == "caf\ufffd-wall"

