"""The log file (rotated, in the user's log folder), with every secret masked, and "copy diagnostics".

Tokens are registered with ``mask_secret`` as soon as they are known; every record is scrubbed of them,
of ``Bearer ...`` values and of presigned-URL signatures before it is written anywhere.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import re
import sys
from collections import deque
from pathlib import Path

from speckle_uploader import __version__

LOG_NAME = "speckle-uploader.log"
MASK = "***"
_secrets: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
    re.compile(r"(?i)(X-Amz-Signature=|X-Amz-Credential=|sig=|signature=)[^&\s'\"]+"),
    re.compile(r"(?i)(\"?(?:token|authorization)\"?\s*[:=]\s*\"?)(?!bearer\s|\*\*\*)[^\s'\",}]+"),
]


def mask_secret(secret: str) -> None:
    """Never write this value to a log (tokens, as soon as they are known)."""
    if secret and len(secret) >= 6:
        _secrets.add(secret)


def scrub(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class RecentLines(logging.Handler):
    """The last few hundred log lines in memory, for "copy diagnostics"."""

    def __init__(self, capacity: int = 300) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_recent = RecentLines()
_log_file: Path | None = None


def setup_logging(folder: Path | None = None, level: int = logging.INFO) -> Path:
    """Log to ``speckle-uploader.log`` (1 MB, five old files kept) and to memory; returns the file's path."""
    global _log_file
    from speckle_uploader.app_dirs import log_dir

    path = (folder or log_dir()) / LOG_NAME
    if _log_file == path:
        return path
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    masking = MaskingFilter()
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "speckle-uploader"]:
        root.removeHandler(old)
        old.close()
    for each in (handler, _recent):
        each.setFormatter(formatter)
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
