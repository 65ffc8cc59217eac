"""The token in a real keychain: Secret Service (gnome-keyring) on a private D-Bus, as on a Linux desktop."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from speckle_uploader.credentials import SERVICE, CredentialStore

pytestmark = pytest.mark.skipif(
    not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")),
    reason="needs dbus-daemon and gnome-keyring-daemon (Debian dbus, gnome-keyring)")

ENV_KEYS = ("DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME")


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[keyring.backend.KeyringBackend]:
    from keyring.backends import SecretService

    home: Path = tmp_path_factory.mktemp("home")
    run = tmp_path_factory.mktemp("run")
    run.chmod(0o700)
    env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(run), XDG_DATA_HOME=str(home / "data"))
    # A private session bus with no service directories: nothing can be started by D-Bus activation, so
    # the only Secret Service is the daemon below (an activated second one would have a locked keyring).
    config = home / "bus.conf"
    config.write_text(
        "<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>"
        "<policy context='default'><allow send_destination='*' eavesdrop='true'/><allow eavesdrop='true'/>"
        "<allow own='*'/></policy></busconfig>")
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert bus.stdout is not None
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
    daemon = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    assert daemon.stdin is not None
    daemon.stdin.write(b"test-password")
    daemon.stdin.close()
    saved = {key: os.environ.get(key) for key in ENV_KEYS}
    os.environ.update({key: env[key] for key in ENV_KEYS})
    # Wait until the daemon has created and unlocked its "login" collection before any keyring call: asked
    # too early, the Secret Service backend would create another collection, locked behind a prompt.
    import secretstorage

    deadline = time.monotonic() + 20
    while True:
        try:
            connection = secretstorage.dbus_init()
            ready = any(c.collection_path.endswith("/login") and not c.is_locked()
                        for c in secretstorage.get_all_collections(connection))
            connection.close()
        except Exception:
            ready = False
        if ready:
            break
        assert time.monotonic() < deadline, "gnome-keyring did not unlock its login collection"
        time.sleep(0.05)
    backend = SecretService.Keyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    daemon.terminate()
    daemon.wait(5)
    bus.terminate()
    bus.wait(5)


def test_token_round_trip_in_secret_service(secret_service: keyring.backend.KeyringBackend) -> None:
    store = CredentialStore()
    assert "SecretService" in store.keychain_name()
    result = store.save("https://speckle.example.com/", "real-token")
    assert result.stored
    assert secret_service.get_password(SERVICE, "https://speckle.example.com") == "real-token"
    assert CredentialStore().get("speckle.example.com") == "real-token"
    store.delete("https://speckle.example.com")
    assert secret_service.get_password(SERVICE, "https://speckle.example.com") is None
