"""One scrubber for every string that leaves the engine: server text, file names, log records.

Every server is untrusted, and so is every file name: a string from either may carry terminal escape
sequences (clear screen, window title, OSC 52 clipboard writes), bidirectional overrides, lone surrogates
from a name that is not valid UTF-8, or the user's own token echoed back. ``clean_server_text`` is applied
where server text enters the app (errors, statuses, names) and again where text leaves it (terminal, JSON,
history), so neither side depends on the other having done it.
"""

from __future__ import annotations

import re

MASK = "***"
_secrets: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
    re.compile(r"(?i)(X-Amz-Signature=|X-Amz-Credential=|sig=|signature=)[^&\s'\"]+"),
    re.compile(r"(?i)(\"?(?:token|authorization)\"?\s*[:=]\s*\"?)(?!bearer\s|\*\*\*)[^\s'\",}]+"),
]
# ESC sequences first (CSI ``ESC [ ... final``, OSC/DCS/APC/PM/SOS ``ESC ] ... BEL|ST``, two-byte ``ESC x``),
# and their 8-bit C1 forms, so that the payload of a sequence goes with it rather than being shown.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence, or a lone ESC
)
_NEWLINES = re.compile(r"[\r\n\t\v\f\x85\u2028\u2029]+")
# What remains of C0, DEL and C1, bidirectional overrides and isolates, zero-width characters and the BOM.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_TOKEN_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def mask_secret(secret: str) -> None:
    """Never let this value out (tokens, as soon as they are known): it is masked wherever text leaves."""
    if secret and len(secret) >= 6:
        _secrets.add(secret)


def mask_text(text: str) -> str:
    """``text`` with every registered secret, ``Bearer`` value and presigned-URL signature masked."""
    for secret in _secrets:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def unicode_text(text: str) -> str:
    """``text`` with lone surrogates (a file name that is not valid UTF-8) shown as U+FFFD: safe to encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")  # the bytes of the real name, shown as best we can
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")
    return text


def clean_server_text(text: object, max_len: int | None = None, *, keep_newlines: bool = False) -> str:
    """Plain, printable, masked text: escape sequences and control characters removed, secrets masked,
    line breaks turned into spaces (unless ``keep_newlines``, for logs), cut to ``max_len`` characters."""
    value = unicode_text(text if isinstance(text, str) else str(text))
    value = _ESCAPES.sub("", value)
    if keep_newlines:
        value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    else:
        value = _NEWLINES.sub(" ", value)
    value = _INVISIBLE.sub("", value)  # keeps "\n" (and "\t", which is gone by now)
    value = mask_text(value)
    if max_len is not None and len(value) > max_len:
        value = value[: max(0, max_len - 1)] + "…"
    return value


def clean_token(raw: str) -> str:
    """A pasted token without its whitespace (no-break and zero-width spaces too); ``ValueError`` with a
    sentence if anything other than printable ASCII remains."""
    token = _TOKEN_SPACE.sub("", raw)
    for position, char in enumerate(token, 1):
        if not (" " < char < "\x7f"):
            shown = f"U+{ord(char):04X}"
            raise ValueError(f"The token contains a character that is not plain ASCII ({shown} at position "
                             f"{position}); copy it again from Speckle's Access tokens page.")
    return token
