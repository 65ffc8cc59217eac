"""Personal access tokens, kept in the operating system's keychain, one per server URL.

Where the machine has no keychain the token lives for this run only, and callers are told so
(``stored`` is False): it is never written to a plain file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from speckle_uploader.speckle import normalise_server_url

if TYPE_CHECKING:
    from types import ModuleType

SERVICE = "speckle-uploader"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveResult:
    stored: bool  # False: kept for this run only
    reason: str = ""


def _keyring() -> ModuleType:
    """keyring, imported on first use: with its backend discovery it costs ~0.15 s that the window's first
    paint should not wait for (benchmarks/startup.py)."""
    import keyring
    import keyring.errors

    return keyring


class CredentialStore:
    """Every call may block (a D-Bus round trip, a keychain prompt): the window makes them off the Qt thread."""

    def __init__(self) -> None:
        self._session_only: dict[str, str] = {}

    @staticmethod
    def keychain_name() -> str:
        backend = _keyring().get_keyring()
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def get(self, server_url: str) -> str | None:
        key = normalise_server_url(server_url)
        if key in self._session_only:
            return self._session_only[key]
        keyring = _keyring()
        try:
            password: str | None = keyring.get_password(SERVICE, key)
            return password
        except keyring.errors.KeyringError as exc:
            log.info("no keychain available: %s", exc)
            return None

    def save(self, server_url: str, token: str) -> SaveResult:
        key = normalise_server_url(server_url)
        keyring = _keyring()
        try:
            keyring.set_password(SERVICE, key, token)
        except keyring.errors.KeyringError as exc:
            self._session_only[key] = token
            return SaveResult(False, f"No keychain is available on this computer ({exc}); the token is kept "
                                     "for this run only.")
        self._session_only.pop(key, None)
        return SaveResult(True)

    def delete(self, server_url: str) -> None:
        key = normalise_server_url(server_url)
        self._session_only.pop(key, None)
        keyring = _keyring()
        try:
            keyring.delete_password(SERVICE, key)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            log.info("no keychain available: %s", exc)
