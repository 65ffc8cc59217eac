"""Tokens live in the keychain per server; with no keychain they live for this run only, and we say so."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from speckle_uploader.credentials import SERVICE, CredentialStore
from tests.keyrings import MemoryKeyring, NoKeyring


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    yield
    keyring.set_keyring(previous)


def test_token_kept_per_normalised_server(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore()
    assert store.save("app.speckle.systems/", "tok-cloud").stored
    store.save("http://localhost:3000", "tok-local")
    assert memory_keyring.secrets[(SERVICE, "https://app.speckle.systems")] == "tok-cloud"
    assert CredentialStore().get("https://app.speckle.systems") == "tok-cloud"  # a new run finds it
    assert CredentialStore().get("http://localhost:3000") == "tok-local"
    store.delete("https://app.speckle.systems")
    assert CredentialStore().get("https://app.speckle.systems") is None
    store.delete("https://app.speckle.systems")  # forgetting twice is fine


def test_no_keychain_keeps_the_token_for_this_run_only(no_keyring: None) -> None:
    store = CredentialStore()
    result = store.save("https://app.speckle.systems", "tok")
    assert not result.stored
    assert "kept for this run only" in result.reason
    assert store.get("https://app.speckle.systems") == "tok"
    assert CredentialStore().get("https://app.speckle.systems") is None  # nothing was written anywhere
    store.delete("https://app.speckle.systems")
    assert store.get("https://app.speckle.systems") is None
