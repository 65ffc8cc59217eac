"""The sign-in dialog as people use it: Enter signs in, a refusal puts the focus back on the token, a bad proxy
is said (and never saved), and whatever address is pasted (loopback without a scheme, ``/graphql``, a
project or model URL from the browser) reaches the server, with that project and model chosen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.speckle.models import Model
from speckle_uploader.ui.main_window import MainWindow
from speckle_uploader.ui.sign_in import SignInDialog
from tests.keyrings import MemoryKeyring

TOKEN = "sandbox-demo-token"


def open_dialog(window: MainWindow, server: str, token: str) -> SignInDialog:
    window.ask_sign_in()
    dialog = window.sign_in_dialog
    dialog.server.setCurrentText(server)
    dialog.token.setText(token)
    return dialog


def test_enter_in_the_token_field_signs_in(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                           memory_keyring: MemoryKeyring) -> None:
    dialog = open_dialog(window, cloud_sandbox.url, TOKEN)
    QTest.keyClick(dialog.token, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.session is not None and not dialog.isVisible(), timeout=5000)
    assert window.user_name.text() == "Alex Morgan"


def test_enter_in_the_server_field_signs_in_too(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                                memory_keyring: MemoryKeyring) -> None:
    dialog = open_dialog(window, cloud_sandbox.url, TOKEN)
    line_edit = dialog.server.lineEdit()
    assert line_edit is not None
    QTest.keyClick(line_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.session is not None and not dialog.isVisible(), timeout=5000)


def test_a_refused_token_puts_the_focus_back_on_the_token(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                          cloud_sandbox: ThreadedSandbox,
                                                          memory_keyring: MemoryKeyring) -> None:
    dialog = open_dialog(window, cloud_sandbox.url, "revoked")
    QTest.keyClick(dialog.token, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.error.isVisible() and dialog.sign_in_button.isEnabled(), timeout=5000)
    assert "refused the access token" in dialog.error.text()
    assert dialog.focusWidget() is dialog.token and dialog.token.selectedText() == "revoked"
    assert dialog.isVisible() and window.context.session is None


def test_a_bad_proxy_is_said_and_never_saved(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                             memory_keyring: MemoryKeyring) -> None:
    dialog = open_dialog(window, cloud_sandbox.url, TOKEN)
    for wrong in ("zzz", "tok-4f2a9c1b7e0d", "ftp://proxy:21", "http://proxy:99999"):
        dialog.proxy.setText(wrong)
        dialog.show_error("")
        QTest.keyClick(dialog.token, Qt.Key.Key_Return)
        qtbot.waitUntil(dialog.error.isVisible, timeout=5000)
        assert "proxy is not an address" in dialog.error.text(), wrong
        assert wrong not in dialog.error.text()
        assert dialog.focusWidget() is dialog.proxy
        assert window.context.settings.value("proxy") is None and window.context.session is None
    dialog.proxy.setText("")
    QTest.keyClick(dialog.token, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.session is not None, timeout=5000)
    assert window.context.proxy == ""


def test_a_proxy_is_saved_only_after_signing_in(qtbot, window: MainWindow, cloud_sandbox: ThreadedSandbox,  # type: ignore[no-untyped-def]
                                                memory_keyring: MemoryKeyring) -> None:
    # A proxy that refuses connections: sign-in fails, and the proxy is not kept.
    dialog = open_dialog(window, cloud_sandbox.url, TOKEN)
    dialog.proxy.setText("127.0.0.1:9")
    QTest.keyClick(dialog.token, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.error.isVisible() and dialog.sign_in_button.isEnabled(), timeout=10000)
    assert window.context.session is None and window.context.proxy == ""


def test_a_loopback_address_without_scheme_means_http(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                      cloud_sandbox: ThreadedSandbox,
                                                      memory_keyring: MemoryKeyring) -> None:
    bare = cloud_sandbox.url.removeprefix("http://") + "/graphql"
    dialog = open_dialog(window, bare, TOKEN)
    QTest.keyClick(dialog.token, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.session is not None, timeout=5000)
    assert window.context.session is not None and window.context.session.server.url == cloud_sandbox.url


def test_a_pasted_model_url_chooses_that_project_and_model(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                           cloud_sandbox: ThreadedSandbox,
                                                           memory_keyring: MemoryKeyring) -> None:
    store = cloud_sandbox.sandbox.store
    project = next(p for p in store.projects.values() if p.name == "Harbour Office Tower")
    model = next(m for m in project.models.values() if m.name == "facade")
    pasted = f"{cloud_sandbox.url}/projects/{project.id}/models/{model.id}@abc123"
    dialog = open_dialog(window, pasted, TOKEN)
    QTest.keyClick(dialog.token, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.target is not None, timeout=5000)
    target = window.context.target
    assert target is not None and (target.project_id, target.model_name) == (project.id, "facade")
    assert window.context.session is not None and window.context.session.server.url == cloud_sandbox.url
    current = window.picker.models.list.currentItem()
    assert current is not None and isinstance(current.data(Qt.ItemDataRole.UserRole + 1), Model)
