"""What only Windows has, checked with the Windows interpreter (under Wine in CI, or on a real Windows machine):

    python packaging\\windows\\wine_checks.py      (packaging/windows/ci.sh runs it under Wine)

the Credential Manager keyring (CredentialStore through WinVaultKeyring), start at login (the HKCU Run value,
through winreg), "Open with" for .ifc files (HKCU\\Software\\Classes), a file still open in the program
writing it (sharing violation, then ready once closed), paths with drive letters, backslashes and over 260
characters through the engine's own file checks.
Prints one line per check and exits 0 when all pass. Uses only this repository's source and what the
app's installation already put into this interpreter.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from speckle_uploader import autostart, file_association  # noqa: E402
from speckle_uploader.credentials import CredentialStore  # noqa: E402
from speckle_uploader.jobs.dropped import expand_dropped  # noqa: E402
from speckle_uploader.platform_files import is_file_ready, long_path  # noqa: E402
from speckle_uploader.speckle.file_rules import ACCEPTED_EXTENSIONS, check_file  # noqa: E402
from speckle_uploader.speckle.models import ServerKind  # noqa: E402
from speckle_uploader.watch.files import can_read_now, scan  # noqa: E402

IFC = b"ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\nENDSEC;\nEND-ISO-10303-21;\n"


def check_keychain() -> str:
    store = CredentialStore()
    name = store.keychain_name()
    if not name.endswith("WinVaultKeyring"):
        raise AssertionError(f"keyring backend is {name}")
    server = "https://wine-check.example.com"
    result = store.save(server, "wine-check-token")
    if not result.stored:
        raise AssertionError(f"not stored: {result.reason}")
    fresh = CredentialStore()  # no session copy: read back from the Credential Manager
    if fresh.get(server) != "wine-check-token":
        raise AssertionError("the token did not come back from the Credential Manager")
    fresh.delete(server)
    if CredentialStore().get(server) is not None:
        raise AssertionError("the token is still there after delete")
    return f"{name}: saved, read back, deleted"


def check_autostart() -> str:
    startup = autostart.for_this_system()
    if not isinstance(startup, autostart.WindowsAutostart):
        raise AssertionError(f"{type(startup).__name__} on Windows")
    was_enabled = startup.is_enabled()
    argv = [r"C:\Program Files\Speckle Uploader\speckle-uploader.exe", "--minimized"]
    startup.enable(argv)
    value = autostart.WinRegistry().get(autostart.RUN_KEY, autostart.APP_NAME)
    expected = r'"C:\Program Files\Speckle Uploader\speckle-uploader.exe" --minimized'
    if value != expected or not startup.is_enabled():
        raise AssertionError(f"Run value is {value!r}")
    startup.disable()
    if startup.is_enabled() or was_enabled:
        raise AssertionError("the Run value is still there after disable")
    return f"HKCU\\{autostart.RUN_KEY} = {value}, then removed"


def check_file_association() -> str:
    registry = autostart.WinRegistry()
    exe = r"C:\Program Files\Speckle Uploader\speckle-uploader.exe"
    file_association.register(exe)
    command = registry.get(file_association.PROG_KEY + r"\shell\open\command", "")
    if not file_association.is_registered(exe) or command != f'"{exe}" "%1"':
        raise AssertionError(f"open command is {command!r}")
    file_association.unregister()
    if file_association.is_registered(exe) or registry.get(file_association.PROG_KEY, "") is not None:
        raise AssertionError("the ProgID is still there after unregister")
    return f"HKCU\\{file_association.PROG_KEY} opens {command}, listed under .ifc OpenWithProgids, then removed"


def check_sharing_violation(folder: Path) -> str:
    path = folder / "still-exporting.ifc"
    with path.open("wb") as exporter:  # Python's open shares read and write, as most exporters do
        exporter.write(IFC)
        exporter.flush()
        if is_file_ready(path) or can_read_now(path):
            raise AssertionError("a file open in another handle counted as ready")
    if not is_file_ready(path) or not can_read_now(path):
        raise AssertionError("a closed file counted as still open")
    if not is_file_ready(folder / "missing.ifc"):
        raise AssertionError("a missing file is not a sharing violation")
    return "open in the exporter: not ready; closed: ready (platform_files and the watcher's can_read_now)"


def check_paths(base: Path) -> str:
    seen = []
    folder = base / "exports"
    deep = folder.joinpath(*["Project Tower A - Coordination exports"] * 7)
    for path in (folder / "Tower A.ifc", deep / "Tower A.ifc"):
        target = Path(long_path(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(IFC)
        size = check_file(Path(str(path).replace("/", "\\")), ACCEPTED_EXTENSIONS[ServerKind.CLOUD_INGESTION],
                          100 * 1024 * 1024)
        found = expand_dropped([path.parent], ACCEPTED_EXTENSIONS[ServerKind.CLOUD_INGESTION]).files
        # The watcher resolves its folder (os.path.realpath); Wine 8's GetFinalPathNameByHandleW fails past 260
        # characters (ERROR_MORE_DATA) where Windows does not, so its scan is checked on the short path only.
        watched = scan(path.parent, ["*.ifc"], subfolders=False) if len(str(path)) < 260 else {path: None}
        if size != len(IFC) or [p.name for p in found] != ["Tower A.ifc"] or [p.name for p in watched] != [path.name]:
            raise AssertionError(f"{path}: size {size}, found {found}, watched {list(watched)}")
        seen.append(len(str(path)))
    if seen[-1] <= 260:
        raise AssertionError(f"the deep path has only {seen[-1]} characters")
    return (f"drive-letter paths of {seen[0]} and {seen[1]} characters: checked by the engine, found by a drop "
            "(and the short one by the watcher's scan)")


def main() -> int:
    if sys.platform != "win32":
        print("wine checks: these run only with the Windows interpreter")
        return 2
    with tempfile.TemporaryDirectory(prefix="speckle-wine-") as name:
        folder = Path(name)
        checks: list[tuple[str, Callable[[], str]]] = [
            ("keychain", check_keychain),
            ("autostart", check_autostart),
            ("open with", check_file_association),
            ("sharing", lambda: check_sharing_violation(folder)),
            ("paths", lambda: check_paths(folder)),
        ]
        failed = 0
        for label, check in checks:
            try:
                print(f"ok   {label}: {check()}", flush=True)
            except Exception as exc:
                failed += 1
                print(f"FAIL {label}: {type(exc).__name__}: {exc}", flush=True)
    print("wine checks: all passed" if not failed else f"wine checks: {failed} of {len(checks)} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
