"""Start at login, for the current user only, on each desktop; no Qt.

- Linux (and other XDG desktops): ``$XDG_CONFIG_HOME/autostart/speckle-uploader.desktop`` (XDG Autostart).
- Windows: the value ``Speckle Uploader`` under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.
- macOS: ``~/Library/LaunchAgents/systems.speckle.uploader.plist`` (RunAtLoad), read by launchd at the next login.

``enable(argv)`` takes the whole command line to start (the bundle's executable and its arguments, as
``launch_command()`` gives for this installation), ``disable()`` removes the entry, ``is_enabled()`` tells.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

APP_NAME = "Speckle Uploader"
DESKTOP_FILE = "speckle-uploader.desktop"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
LAUNCH_AGENT_LABEL = "systems.speckle.uploader"


class Autostart(Protocol):
    def enable(self, argv: Sequence[str]) -> None: ...
    def disable(self) -> None: ...
    def is_enabled(self) -> bool: ...


def launch_command(*arguments: str) -> list[str]:
    """How this installation starts: the frozen bundle's executable, or this Python running the app."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *arguments]
    return [sys.executable, "-m", "speckle_uploader", *arguments]


# --- Linux: XDG Autostart ---------------------------------------------------------------------------------------

_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec_line(argv: Sequence[str]) -> str:
    """``argv`` as a desktop entry's ``Exec`` value: the spec's quoting, then its string escapes."""
    if not argv or any("\n" in arg or "\r" in arg for arg in argv):
        raise ValueError("a command to start at login needs a program and no line breaks")
    words = []
    for arg in argv:
        if arg and not _EXEC_RESERVED.intersection(arg):
            word = arg
        else:
            word = '"' + "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg) + '"'
        words.append(word.replace("%", "%%"))  # a lone % would be a field code (%f, %u...)
    return " ".join(words).replace("\\", "\\\\")  # the string-level escape of every value


class XdgAutostart:
    def __init__(self, config_home: Path | None = None) -> None:
        base = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.path = base / "autostart" / DESKTOP_FILE

    def enable(self, argv: Sequence[str]) -> None:
        entry = "\n".join([
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            "Comment=Uploads the files of your watched folders to Speckle",
            f"Exec={desktop_exec_line(argv)}",
            "Icon=speckle-uploader",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            "",
        ])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(entry, encoding="utf-8")
        temporary.replace(self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return False
        # The desktop's own settings switch an entry off with Hidden=true (or GNOME's key) instead of deleting it.
        switched_off = {"hidden=true", "x-gnome-autostart-enabled=false"}
        return not any(line.strip().replace(" ", "").lower() in switched_off for line in lines)


# --- Windows: the Run key ---------------------------------------------------------------------------------------

class Registry(Protocol):
    """The string values of one key under HKEY_CURRENT_USER."""

    def get(self, key: str, name: str) -> str | None: ...
    def set(self, key: str, name: str, value: str) -> None: ...
    def delete(self, key: str, name: str) -> None: ...


class WinRegistry:
    """HKEY_CURRENT_USER through winreg (Windows only)."""

    def get(self, key: str, name: str) -> str | None:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                    value, kind = winreg.QueryValueEx(handle, name)
            except FileNotFoundError:
                return None
            return value if kind in (winreg.REG_SZ, winreg.REG_EXPAND_SZ) and isinstance(value, str) else None
        raise OSError("the Windows registry exists only on Windows")

    def set(self, key: str, name: str, value: str) -> None:
        if sys.platform == "win32":
            import winreg

            with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)
            return
        raise OSError("the Windows registry exists only on Windows")

    def delete(self, key: str, name: str) -> None:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                    winreg.DeleteValue(handle, name)
            except FileNotFoundError:
                pass
            return
        raise OSError("the Windows registry exists only on Windows")

    def delete_key(self, key: str) -> None:
        """Delete a key that has no subkeys left (its values go with it); a missing key is fine."""
        if sys.platform == "win32":
            import winreg

            with contextlib.suppress(FileNotFoundError):
                winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key)
            return
        raise OSError("the Windows registry exists only on Windows")


class WindowsAutostart:
    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or WinRegistry()

    def enable(self, argv: Sequence[str]) -> None:
        if not argv:
            raise ValueError("a command to start at login needs a program")
        # Windows' own quoting (CommandLineToArgvW), so a path with spaces stays one argument.
        self.registry.set(RUN_KEY, APP_NAME, subprocess.list2cmdline(list(argv)))

    def disable(self) -> None:
        self.registry.delete(RUN_KEY, APP_NAME)

    def is_enabled(self) -> bool:
        return bool(self.registry.get(RUN_KEY, APP_NAME))


# --- macOS: a LaunchAgent ---------------------------------------------------------------------------------------

class LaunchAgentAutostart:
    def __init__(self, home: Path | None = None) -> None:
        self.path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"

    def enable(self, argv: Sequence[str]) -> None:
        if not argv:
            raise ValueError("a command to start at login needs a program")
        agent = {"Label": LAUNCH_AGENT_LABEL, "ProgramArguments": list(argv), "RunAtLoad": True,
                 "ProcessType": "Interactive", "LimitLoadToSessionType": "Aqua"}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(plistlib.dumps(agent))
        temporary.replace(self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        try:
            agent = plistlib.loads(self.path.read_bytes())
        except (FileNotFoundError, plistlib.InvalidFileException, ValueError):
            return False
        return isinstance(agent, dict) and agent.get("RunAtLoad") is True and bool(agent.get("ProgramArguments"))


def for_this_system(platform: str = sys.platform) -> Autostart:
    if platform == "win32":
        return WindowsAutostart()
    if platform == "darwin":
        return LaunchAgentAutostart()
    return XdgAutostart()


def enable(argv: Sequence[str]) -> None:
    for_this_system().enable(argv)


def disable() -> None:
    for_this_system().disable()


def is_enabled() -> bool:
    return for_this_system().is_enabled()
