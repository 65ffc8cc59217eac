"""The one scrubber (speckle_uploader/text.py) and the places that must use it: logs, history, links."""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

import pytest

from speckle_uploader.jobs import Job, JobState
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.logs import LogFile, setup_logging
from speckle_uploader.speckle.errors import SpeckleError
from speckle_uploader.speckle.models import RemoteState, RemoteStatus
from speckle_uploader.text import clean_server_text, clean_token, mask_secret, unicode_text

SECRET = "tok-5f1e9c0b7a2d4e6f"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J\x1b[Hhello", "hello"),  # clear screen, cursor home
        ("\x1b]0;pwned\x07title", "title"),  # window title (OSC ... BEL)
        ("\x1b]52;c;cm0gLXJmIH4=\x1b\\clip", "clip"),  # clipboard write (OSC 52 ... ST)
        ("\x9b31mred", "red"),  # 8-bit CSI
        ("a\x00b\x7fc\x85d", "abc d"),  # NUL, DEL; NEL is a line break
        ("ok\n  ✓ all files uploaded fine\r\n", "ok   ✓ all files uploaded fine "),
        ("\u202eevil\u2066x\u2069\u200b", "evilx"),  # bidi overrides, isolates, zero-width space
        ("<h1>plain</h1>", "<h1>plain</h1>"),  # HTML is text here: the window shows it as plain text
    ],
)
def test_control_characters_and_escape_sequences_are_removed(raw: str, shown: str) -> None:
    assert clean_server_text(raw) == shown


def test_secrets_are_masked_and_long_text_is_cut() -> None:
    mask_secret(SECRET)
    assert clean_server_text(f"Forbidden for Bearer {SECRET}") == "Forbidden for Bearer ***"
    assert clean_server_text(f"token was {SECRET[:8]}\x1b[0m{SECRET[8:]}") == "token was ***"  # split by an escape
    assert clean_server_text("x" * 50, 10) == "x" * 9 + "…"
    assert clean_server_text("line\n\tnext", keep_newlines=True) == "line\n    next"


def test_errors_and_statuses_are_clean_where_they_are_made() -> None:
    mask_secret(SECRET)
    error = SpeckleError(f"\x1b[2JNot allowed: Bearer {SECRET}", server_message=f"{SECRET}\x07" + "y" * 5000)
    assert str(error) == "Not allowed: Bearer ***"
    assert error.server_message is not None and error.server_message.startswith("***y")
    assert len(error.server_message) <= 2000
    status = RemoteStatus(RemoteState.FAILED, f"\x1b]52;c;x\x07failed for {SECRET}")
    assert status.message == "failed for ***"


def test_file_names_that_are_not_utf8_become_encodable() -> None:
    name = b"caf\xe9.ifc".decode("utf-8", "surrogateescape")
    assert unicode_text(name) == "caf\ufffd.ifc"
    unicode_text(name).encode("utf-8")
    assert unicode_text("\ud800x") == "?x"  # a surrogate no file system made: still encodable


@pytest.mark.parametrize("raw", [" abc-123\u00a0", "\u200babc-123\r\n", "abc\u00a0-123"])
def test_tokens_lose_pasted_whitespace(raw: str) -> None:
    assert clean_token(raw) == "abc-123"


def test_tokens_with_other_characters_are_refused_in_a_sentence() -> None:
    with pytest.raises(ValueError, match=r"not plain ASCII \(U\+201C at position 1\)"):
        clean_token("“abc”")


def test_a_log_that_cannot_be_written_prints_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", True)  # as in the app (pytest's logging turns it off)
    mask_secret(SECRET)
    setup_logging(tmp_path / "logs")
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, LogFile))

    class FullDisk:
        def write(self, _text: str) -> None:
            raise OSError(errno.ENOSPC, f"No space left on device while writing Bearer {SECRET}")

        def flush(self) -> None:
            pass

        def seek(self, *_args: int) -> int:
            return 0

        def tell(self) -> int:
            return 0

        def close(self) -> None:
            pass

    handler.stream = FullDisk()  # type: ignore[assignment]
    log = logging.getLogger("speckle_uploader.test")
    log.warning("signing in with %s", SECRET)
    log.warning("and again with %s", SECRET)
    logging.getLogger().removeHandler(handler)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "Logging error" not in err and "Traceback" not in err
    assert err.count("\n") == 1 and "the log cannot be written" in err


def test_a_missing_log_folder_leaves_logging_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert setup_logging(blocker / "logs") is None
    logging.getLogger("speckle_uploader.test").warning("still fine")


def test_the_history_never_stores_a_token(tmp_path: Path) -> None:
    mask_secret(SECRET)
    history = JobHistory.open(tmp_path / "history.sqlite3").history
    job = Job(id=1, path=tmp_path / "a.ifc", project_id="p", model_name="a", state=JobState.FAILED)
    job.message = f"Forbidden for {SECRET}"  # as if it had slipped past every other scrubber
    history.save("https://speckle.example.com", job)
    history.close()
    rows = sqlite3.connect(tmp_path / "history.sqlite3").execute("SELECT message FROM jobs").fetchall()
    assert rows == [("Forbidden for ***",)]


def test_server_ids_are_escaped_in_the_version_link() -> None:
    job = Job(id=1, path=Path("a.ifc"), project_id="p1", model_name="a", model_id="m/../../admin",
              version_id="v1?next=https://evil.example#x")
    assert job.version_url("https://app.speckle.systems") == (
        "https://app.speckle.systems/projects/p1/models/m%2F..%2F..%2Fadmin@v1%3Fnext%3Dhttps%3A%2F%2Fevil.example%23x")
