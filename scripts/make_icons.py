"""Writes the app icon (drawn by speckle_uploader.ui.icons) as PNG files.

PyInstaller turns the 256 px one into .ico and .icns where Pillow is installed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication

from speckle_uploader.ui.icons import app_icon

OUT = Path(__file__).resolve().parent.parent / "packaging" / "icons"


def main() -> int:
    QGuiApplication(sys.argv[:1])
    icon = app_icon()
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (32, 128, 256):
        icon.pixmap(QSize(size, size)).save(str(OUT / f"speckle-uploader-{size}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
