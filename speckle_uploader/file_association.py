"""Windows: "Open with > Speckle Uploader" for .ifc files, registered per user by the app itself (no installer,
no administrator); no Qt.

Writes under ``HKCU\\Software\\Classes``: the ProgID ``SpeckleUploader.ifc`` (its name, icon and open command,
``"...\\speckle-uploader.exe" "%1"``, which the app turns into a job) and the ProgID's place in
``.ifc\\OpenWithProgids``. It never takes the default: whoever opens .ifc files today keeps doing so, and the
user picks the app under "Open with". Other systems register through their bundles (the Linux ``.desktop``
entry, the macOS ``Info.plist``).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Protocol

PROG_ID = "SpeckleUploader.ifc"
CLASSES = r"Software\Classes"
PROG_KEY = rf"{CLASSES}\{PROG_ID}"
OPEN_WITH_KEY = rf"{CLASSES}\.ifc\OpenWithProgids"
# Deepest first, so each key is empty when it is deleted.
PROG_KEYS = [rf"{PROG_KEY}\shell\open\command", rf"{PROG_KEY}\shell\open", rf"{PROG_KEY}\shell",
             rf"{PROG_KEY}\DefaultIcon", PROG_KEY]


class ClassesRegistry(Protocol):
    def get(self, key: str, name: str) -> str | None: ...
    def set(self, key: str, name: str, value: str) -> None: ...
    def delete(self, key: str, name: str) -> None: ...
    def delete_key(self, key: str) -> None: ...


def entries(exe: str) -> dict[tuple[str, str], str]:
    """Every (key, value name) this registration writes, with its value ("" names a key's default value)."""
    return {
        (PROG_KEY, ""): "IFC building model",
        (PROG_KEY, "FriendlyTypeName"): "IFC building model",
        (rf"{PROG_KEY}\DefaultIcon", ""): subprocess.list2cmdline([exe]) + ",0",
        (rf"{PROG_KEY}\shell\open\command", ""): subprocess.list2cmdline([exe]) + ' "%1"',
        (OPEN_WITH_KEY, PROG_ID): "",
    }


def _registry(registry: ClassesRegistry | None) -> ClassesRegistry:
    if registry is not None:
        return registry
    from speckle_uploader.autostart import WinRegistry

    return WinRegistry()


def register(exe: str, registry: ClassesRegistry | None = None) -> None:
    target = _registry(registry)
    for (key, name), value in entries(exe).items():
        target.set(key, name, value)
    _tell_the_shell()


def unregister(registry: ClassesRegistry | None = None) -> None:
    target = _registry(registry)
    target.delete(OPEN_WITH_KEY, PROG_ID)
    for key in PROG_KEYS:
        target.delete_key(key)
    _tell_the_shell()


def is_registered(exe: str, registry: ClassesRegistry | None = None) -> bool:
    """True when every entry is there and opens this executable (a moved bundle registers again)."""
    target = _registry(registry)
    return all(target.get(key, name) == value for (key, name), value in entries(exe).items())


def _tell_the_shell() -> None:
    """Explorer caches associations: SHChangeNotify(SHCNE_ASSOCCHANGED) makes it read them again."""
    if sys.platform == "win32":
        import ctypes

        ctypes.windll.shell32.SHChangeNotify(0x08000000, 0, None, None)
