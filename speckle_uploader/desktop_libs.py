"""Before Qt loads on Linux: are the X11 libraries that Qt's xcb platform plugin needs on this machine?

Without them (``libxcb-cursor0`` is missing from Ubuntu 22.04 and many minimal desktops) Qt dies with its
cryptic "Could not load the Qt platform plugin xcb" advice. Shipping them in the bundle would take it past
its size budget (tests/test_bundle.py), so the app checks first and says, in one sentence, what to install.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

# soname -> (Debian/Ubuntu package, Fedora package)
XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
}


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def needs_xcb(environ: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """Whether Qt will use its xcb plugin here (Linux, an X display, no other platform asked for)."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return False
    wanted = env.get("QT_QPA_PLATFORM", "")
    return (not wanted and bool(env.get("DISPLAY"))) or wanted.startswith("xcb")


def missing_packages(loads: Callable[[str], bool] = _loads) -> list[tuple[str, str]]:
    """(Debian package, Fedora package) of each library that does not load."""
    return [packages for soname, packages in XCB_LIBRARIES.items() if not loads(soname)]


def problem(loads: Callable[[str], bool] = _loads, environ: dict[str, str] | None = None,
            platform: str = sys.platform) -> str:
    """One sentence naming what to install, or "" when the window can open."""
    if not needs_xcb(environ, platform):
        return ""
    missing = missing_packages(loads)
    if not missing:
        return ""
    debian = " ".join(dict.fromkeys(deb for deb, _ in missing))
    fedora = " ".join(dict.fromkeys(rpm for _, rpm in missing))
    return (f"Speckle Uploader cannot open its window because this computer lacks X11 libraries it needs: "
            f"install them with `sudo apt install {debian}` (Fedora: `sudo dnf install {fedora}`) and start it "
            "again.")
