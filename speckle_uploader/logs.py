"""The log file (rotated, in the user's log folder), with every secret masked, and "copy diagnostics".

Tokens are registered with ``mask_secret`` as soon as they are known; every record is scrubbed of them,
of ``Bearer ...`` values and of presigned-URL signatures before it is written anywhere.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import platform
import sys
from collections import deque
from pathlib import Path

from speckle_uploader import __version__
from speckle_uploader.text import MASK, clean_server_text, mask_secret

LOG_NAME = "speckle-uploader.log"
__all__ = ["MASK", "diagnostics", "mask_secret", "scrub", "setup_logging"]


def scrub(text: str) -> str:
    """A log line as it may be written: secrets masked, control characters gone, line breaks kept."""
    return clean_server_text(text, keep_newlines=True)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = scrub(record.getMessage())
        except Exception:  # a record whose arguments do not fit its format: keep the format alone
            record.msg = scrub(str(record.msg))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class _QuietWhenBroken:
    """``handleError`` that never prints the record or the exception (Python's "--- Logging error ---" block
    carries both, token included): one masked line on stderr, once per handler, and nothing more."""

    _complained = False

    def handleError(self, record: logging.LogRecord) -> None:
        if self._complained or not logging.raiseExceptions or sys.stderr is None:
            return
        self._complained = True
        problem = sys.exc_info()[1]
        why = clean_server_text(f"{type(problem).__name__}: {problem}" if problem else "unknown error", 200)
        with contextlib.suppress(Exception):
            sys.stderr.write(f"speckle-uploader: the log cannot be written ({why}); going on without it.\n")


class LogFile(_QuietWhenBroken, logging.handlers.RotatingFileHandler):
    """The rotated log file (1 MB, five old files kept)."""


class RecentLines(_QuietWhenBroken, logging.Handler):
    """The last few hundred log lines in memory, for "copy diagnostics"."""

    def __init__(self, capacity: int = 300) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_recent = RecentLines()
_log_file: Path | None = None


def setup_logging(folder: Path | None = None, level: int = logging.INFO) -> Path | None:
    """Log to ``speckle-uploader.log`` and to memory; returns the file's path, or None when the log folder
    cannot be made or written (the app goes on, logging to memory only)."""
    global _log_file
    from speckle_uploader.app_dirs import log_dir

    try:
        path = (folder or log_dir()) / LOG_NAME
    except OSError:
        path = None
    if path is not None and _log_file == path:
        return path
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [_recent]
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(LogFile(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"))
        except OSError:
            path = None
    masking = MaskingFilter()
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "speckle-uploader"]:
        root.removeHandler(old)
        if old is not _recent:
            old.close()
    for each in handlers:
        each.setFormatter(formatter)
        each.filters.clear()
        each.addFilter(masking)
        each.set_name("speckle-uploader")
        root.addHandler(each)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise, and holds URLs
    logging.getLogger("websockets").setLevel(logging.WARNING)
    _log_file = path
    return path


def diagnostics(extra: dict[str, str] | None = None) -> str:
    """A report to paste into a support request: versions, server, keychain, recent log lines; no secrets."""
    import keyring

    lines = [
        f"Speckle Uploader {__version__} ({'bundle' if getattr(sys, 'frozen', False) else 'source'})",
        f"Python {platform.python_version()} on {platform.platform()}",
        f"Keychain: {type(keyring.get_keyring()).__module__}.{type(keyring.get_keyring()).__name__}",
        f"Log file: {_log_file or 'not set up'}",
    ]
    lines += [f"{key}: {value}" for key, value in (extra or {}).items()]
    lines += ["", "Recent log:", *_recent.lines]
    return scrub("\n".join(lines))
