"""Start at login: the XDG autostart entry for real (in a private XDG_CONFIG_HOME), the Windows Run value and
the macOS LaunchAgent through what they write (a fake registry, a private home)."""

from __future__ import annotations

import plistlib
import sys
from pathlib import Path

import pytest

from speckle_uploader import autostart
from speckle_uploader.autostart import (
    RUN_KEY,
    LaunchAgentAutostart,
    WindowsAutostart,
    XdgAutostart,
    desktop_exec_line,
)

BUNDLE_ARGV = ["/home/ana/.local/opt/Speckle Uploader/speckle-uploader", "--minimized"]


def parse_exec(value: str) -> list[str]:
    """A desktop entry's Exec value back into argv, as the spec reads it: string escapes, then quoting."""
    unescaped, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            unescaped.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            unescaped.append(value[i])
            i += 1
    text = "".join(unescaped)
    words: list[str] = []
    word: list[str] | None = None
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
                word = (word or []) + [text[i + 1]]
                i += 1
            elif ch == '"':
                quoted = False
            else:
                word = (word or []) + [ch]
        elif ch == '"':
            quoted, word = True, word or []
        elif ch == " ":
            if word is not None:
                words.append("".join(word))
            word = None
        else:
            word = (word or []) + [ch]
        i += 1
    assert not quoted, f"unbalanced quotes in {value!r}"
    if word is not None:
        words.append("".join(word))
    return [w.replace("%%", "%") for w in words]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG entry is the Linux desktop's")
def test_linux_entry_is_written_where_the_desktop_reads_it_and_removed(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert not autostart.is_enabled()
    autostart.enable(BUNDLE_ARGV)
    entry = tmp_path / "config" / "autostart" / "speckle-uploader.desktop"
    lines = entry.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    assert "Type=Application" in lines and "X-GNOME-Autostart-enabled=true" in lines
    exec_value = next(line.removeprefix("Exec=") for line in lines if line.startswith("Exec="))
    assert exec_value == '"/home/ana/.local/opt/Speckle Uploader/speckle-uploader" --minimized'
    assert parse_exec(exec_value) == BUNDLE_ARGV
    assert autostart.is_enabled()
    assert not list(entry.parent.glob("*.tmp"))
    autostart.disable()
    assert not entry.exists() and not autostart.is_enabled()
    autostart.disable()  # twice is fine


def test_linux_entry_defaults_to_dot_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert XdgAutostart().path == tmp_path / ".config" / "autostart" / "speckle-uploader.desktop"


@pytest.mark.parametrize("argv", [
    ["/opt/su/speckle-uploader"],
    ["/opt/Speckle Uploader/speckle-uploader", "--watch", "/srv/exports/100% done"],
    ["/usr/bin/python3", "-m", "speckle_uploader", "--minimized"],
    ['/tmp/we"ird $HOME `x` \\back\\slash/speckle-uploader', "", "a;b|c&d"],
])
def test_exec_line_round_trips_through_the_spec_rules(argv: list[str]) -> None:
    line = desktop_exec_line(argv)
    assert parse_exec(line) == argv
    assert "%" not in line.replace("%%", "")  # no stray field codes


def test_exec_line_refuses_what_a_desktop_entry_cannot_hold() -> None:
    with pytest.raises(ValueError):
        desktop_exec_line([])
    with pytest.raises(ValueError):
        desktop_exec_line(["/opt/su", "two\nlines"])


def test_an_entry_switched_off_in_the_desktop_settings_counts_as_off(tmp_path: Path) -> None:
    xdg = XdgAutostart(tmp_path)
    xdg.enable(BUNDLE_ARGV)
    xdg.path.write_text(xdg.path.read_text(encoding="utf-8") + "Hidden=true\n", encoding="utf-8")
    assert not xdg.is_enabled()


class FakeRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get(self, key: str, name: str) -> str | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


def test_windows_run_value_quotes_the_program_path() -> None:
    registry = FakeRegistry()
    startup = WindowsAutostart(registry)
    assert RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"
    assert not startup.is_enabled()
    startup.enable([r"C:\Users\Ana Lima\AppData\Local\Programs\Speckle Uploader\speckle-uploader.exe", "--minimized"])
    assert registry.values == {(RUN_KEY, "Speckle Uploader"):
                               r'"C:\Users\Ana Lima\AppData\Local\Programs\Speckle Uploader\speckle-uploader.exe"'
                               " --minimized"}
    assert startup.is_enabled()
    startup.disable()
    assert registry.values == {} and not startup.is_enabled()


@pytest.mark.skipif(sys.platform == "win32", reason="checks the refusal off Windows")
def test_the_real_registry_is_refused_off_windows() -> None:
    with pytest.raises(OSError, match="only on Windows"):
        WindowsAutostart().is_enabled()


def test_macos_launch_agent_runs_the_app_at_load(tmp_path: Path) -> None:
    agent = LaunchAgentAutostart(tmp_path)
    argv = ["/Applications/Speckle Uploader.app/Contents/MacOS/speckle-uploader", "--minimized"]
    assert not agent.is_enabled()
    agent.enable(argv)
    path = tmp_path / "Library" / "LaunchAgents" / "systems.speckle.uploader.plist"
    content = plistlib.loads(path.read_bytes())
    assert content == {"Label": "systems.speckle.uploader", "ProgramArguments": argv, "RunAtLoad": True,
                       "ProcessType": "Interactive", "LimitLoadToSessionType": "Aqua"}
    assert agent.is_enabled()
    path.write_bytes(b"not a plist")
    assert not agent.is_enabled()
    agent.disable()
    assert not path.exists() and not agent.is_enabled()


def test_each_system_gets_its_own_kind() -> None:
    assert isinstance(autostart.for_this_system("linux"), XdgAutostart)
    assert isinstance(autostart.for_this_system("win32"), WindowsAutostart)
    assert isinstance(autostart.for_this_system("darwin"), LaunchAgentAutostart)


def test_launch_command_from_source_runs_the_package() -> None:
    assert autostart.launch_command("--minimized") == [sys.executable, "-m", "speckle_uploader", "--minimized"]
