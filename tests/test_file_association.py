"""The Windows "Open with" registration for .ifc files, through what it writes (a fake HKCU); the real
registry is exercised under Wine by packaging/windows/wine_checks.py."""

from __future__ import annotations

from speckle_uploader import file_association
from speckle_uploader.file_association import OPEN_WITH_KEY, PROG_ID, PROG_KEY

EXE = r"C:\Users\Ana Lima\AppData\Local\Programs\Speckle Uploader\speckle-uploader.exe"


class FakeClasses:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.deleted_keys: list[str] = []

    def get(self, key: str, name: str) -> str | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)

    def delete_key(self, key: str) -> None:
        assert not any(k.startswith(key + "\\") for k, _ in self.values), f"{key} still has subkeys"
        self.deleted_keys.append(key)
        self.values = {(k, n): v for (k, n), v in self.values.items() if k != key}


def test_registration_offers_the_app_under_open_with_without_taking_the_default() -> None:
    classes = FakeClasses()
    assert not file_association.is_registered(EXE, classes)
    file_association.register(EXE, classes)
    assert classes.values[(PROG_KEY + r"\shell\open\command", "")] == f'"{EXE}" "%1"'
    assert classes.values[(PROG_KEY + r"\DefaultIcon", "")] == f'"{EXE}",0'
    assert classes.values[(OPEN_WITH_KEY, PROG_ID)] == ""
    assert (r"Software\Classes\.ifc", "") not in classes.values  # the user's default stays theirs
    assert file_association.is_registered(EXE, classes)
    assert not file_association.is_registered(r"D:\Moved\speckle-uploader.exe", classes)


def test_unregistering_removes_every_key_deepest_first() -> None:
    classes = FakeClasses()
    file_association.register(EXE, classes)
    classes.set(OPEN_WITH_KEY, "SomeoneElse.ifc", "")
    file_association.unregister(classes)
    assert classes.values == {(OPEN_WITH_KEY, "SomeoneElse.ifc"): ""}
    assert classes.deleted_keys[-1] == PROG_KEY
    assert not file_association.is_registered(EXE, classes)
    file_association.unregister(classes)  # twice is fine
