"""``speckle-uploader upload --json`` against upstream's speckle-server 2.31.14: each answer checked by GraphQL."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, big_ifc, write
from tests.realserver.conftest import RealServer, run_cli

SAMPLE_FILES = sorted(SAMPLES.glob("*.ifc"))
LIMIT = 100 * 1024 * 1024  # FILE_SIZE_LIMIT_MB=100, upstream's default and start.sh's setting


def copies(tmp_path: Path, unique: str) -> list[Path]:
    """The samples under names of this run (the server keeps every earlier run's uploads)."""
    paths = []
    for sample in SAMPLE_FILES:
        target = tmp_path / f"{sample.stem}-{unique}.ifc"
        shutil.copy(sample, target)
        paths.append(target)
    return paths


def exact_ifc(path: Path, size: int) -> Path:
    """A valid IFC of exactly ``size`` bytes (the shared helper pads to about that size)."""
    big_ifc(path, size)
    return big_ifc(path, 2 * size - path.stat().st_size)


def test_samples_to_an_existing_model_several_at_once(real: RealServer, tmp_path: Path, unique: str) -> None:
    model = real.create_model(f"existing-{unique}")
    files = copies(tmp_path, unique)
    typed = f"Existing-{unique.upper()}"  # found case-insensitively, reported as the server names it
    run = run_cli(real, "--model", typed, "--concurrency", "3", *files)
    assert run.code == 0, run.stderr
    assert len(run.lines) == len(SAMPLE_FILES)
    for path in files:
        line = run.line_for(path.name)
        assert line["model_id"] == model["id"] and line["model"] == model["name"] == f"existing-{unique}"
        real.assert_version(line)
    assert len(real.models_named(f"existing-{unique}")) == 1  # no second model made by the typed capitals


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.stem)
def test_each_sample_to_a_new_model(real: RealServer, tmp_path: Path, unique: str, sample: Path) -> None:
    path = tmp_path / f"{sample.stem}-{unique}.ifc"
    shutil.copy(sample, path)
    typed = f"New Model {sample.stem} {unique.upper()}"
    assert real.models_named(typed) == []
    run = run_cli(real, "--model", typed, path)
    assert run.code == 0, run.stderr
    line = run.line_for(path.name)
    assert line["model"] == typed.lower()  # the server's name, not the one typed
    record = real.assert_version(line)
    assert record["model_name"] == typed.lower()
    assert [m["id"] for m in real.models_named(typed)] == [line["model_id"]]


def test_one_model_per_file_without_model_option(real: RealServer, tmp_path: Path, unique: str) -> None:
    files = copies(tmp_path, unique)[:2]
    run = run_cli(real, *files)
    assert run.code == 0, run.stderr
    for path in files:
        line = run.line_for(path.name)
        assert line["model"] == path.stem.lower()
        real.assert_version(line)


def test_a_file_at_the_size_limit_and_one_over_it(real: RealServer, tmp_path: Path, unique: str) -> None:
    at_limit = exact_ifc(tmp_path / f"at-limit-{unique}.ifc", LIMIT)
    over = exact_ifc(tmp_path / f"over-limit-{unique}.ifc", LIMIT + 1)
    assert (at_limit.stat().st_size, over.stat().st_size) == (LIMIT, LIMIT + 1)
    run = run_cli(real, "--model", f"limits-{unique}", "--concurrency", "1", at_limit, over)
    refused = run.line_for(over.name)
    assert refused["status"] == "failed"
    assert refused["error"] == "The file is 100 MB, over this server's limit of 100 MB."
    assert refused["version_id"] is None and refused["model_id"] is None  # refused before anything was sent
    taken = run.line_for(at_limit.name)
    record = real.assert_version(taken)
    assert all(u["fileName"] != over.name for u in _uploads(real, taken["model_id"]))
    assert run.code == 1 and record["convertedStatus"] == 2


def test_a_broken_ifc_fails_with_the_workers_own_words(real: RealServer, tmp_path: Path, unique: str) -> None:
    broken = write(tmp_path / f"broken-{unique}.ifc", "ISO-10303-21;\nHEADER;\nthis is not an IFC file\n")
    existing = real.create_model(f"broken-{unique}")  # a model someone made: it stays, with the upload's record
    run = run_cli(real, "--model", f"broken-{unique}", broken)
    assert run.code == 1
    line = run.line_for(broken.name)
    assert line["status"] == "failed" and line["version_id"] is None and line["model_id"] == existing["id"]
    record = real.upload_record(line["model_id"], broken.name)
    assert record["convertedStatus"] == 3 and record["convertedVersionId"] is None
    assert line["error"] == record["convertedMessage"]  # verbatim
    assert "could not be opened as an IFC file" in line["error"]  # the worker's words, e.g. SpeckleException: ...


def test_a_model_made_for_a_failed_file_is_removed(real: RealServer, tmp_path: Path, unique: str) -> None:
    """The app created the model for this file and the import failed: the server is left without an empty
    model (a contributor may delete what it created on 2.31.14)."""
    broken = write(tmp_path / f"empty-{unique}.ifc", "ISO-10303-21;\nHEADER;\nthis is not an IFC file\n")
    run = run_cli(real, "--model", f"empty-{unique}", broken)
    assert run.code == 1 and run.line_for(broken.name)["status"] == "failed"
    assert real.models_named(f"empty-{unique}") == []


def test_obj_and_stl_are_refused_before_sending(real: RealServer, tmp_path: Path, unique: str) -> None:
    obj = write(tmp_path / f"mesh-{unique}.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    stl = write(tmp_path / f"mesh-{unique}.stl", "solid t\nendsolid t\n")
    run = run_cli(real, "--model", f"refused-{unique}", obj, stl)
    assert run.code == 1
    for path in (obj, stl):
        line = run.line_for(path.name)
        assert line["status"] == "failed" and "does not import" in line["error"], line
        assert line["model_id"] is None
    assert real.models_named(f"refused-{unique}") == []  # nothing reached the server, not even the model


def test_any_type_lets_the_server_decide(real: RealServer, tmp_path: Path, unique: str) -> None:
    first = write(tmp_path / f"a-{unique}.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    second = write(tmp_path / f"b-{unique}.stl", "solid t\nendsolid t\n")
    run = run_cli(real, "--any-type", "--concurrency", "1", "--model", f"anytype-{unique}", first, second)
    assert run.code == 1
    for path in (first, second):
        line = run.line_for(path.name)
        assert line["status"] == "failed" and line.get("error_code") == "UNSUPPORTED_FILE_TYPE", line
        assert line["error"] == ("The server does not import this kind of file: "
                                 "The provided file type is not supported for importing.")
    model = real.models_named(f"anytype-{unique}")[0]
    assert all(u["convertedVersionId"] is None for u in _uploads(real, model["id"]))  # no version from either


def test_a_bad_token_stops_everything_with_one_sentence(real: RealServer, sample_ifc: Path) -> None:
    run = run_cli(real, sample_ifc, token="0123456789abcdef0123456789abcdef01234567")
    assert run.code == 2 and run.lines == []
    message = run.stderr.strip().splitlines()[-1]
    assert message.startswith("speckle-uploader: ") and "token" in message.lower(), run.stderr
    assert "0123456789abcdef" not in run.stderr
    assert real.gql("{serverInfo{version}}")["serverInfo"]["version"]  # the server is fine, only the token was bad


def _uploads(real: RealServer, model_id: str) -> list[dict[str, object]]:
    data = real.gql("query($p:String!,$m:String!){project(id:$p){model(id:$m){uploads(input:{limit:100})"
                    "{items{fileName convertedVersionId}}}}}", {"p": real.project, "m": model_id})
    return list(data["project"]["model"]["uploads"]["items"])


def test_the_version_message(real: RealServer, tmp_path: Path, unique: str) -> None:
    """The version carries the message given with ``--message`` (the watched-folders/publishing work adds it)."""
    from speckle_uploader.cli import build_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(["upload", "--project", "p", "--message", "m", "f.ifc"])
    except SystemExit:
        pytest.skip("MARKED SKIP: `upload --message` does not exist yet on main (watched-folders work); "
                    "this test checks the version message once it does")
    path = tmp_path / f"simple-wall-{unique}.ifc"
    shutil.copy(SAMPLES / "simple-wall.ifc", path)
    message = f"Issued for coordination {unique}"
    run = run_cli(real, "--model", f"message-{unique}", "--message", message, path)
    assert run.code == 0, run.stderr
    line = run.line_for(path.name)
    record = real.assert_version(line)
    assert record["versions"][line["version_id"]]["message"] == message
