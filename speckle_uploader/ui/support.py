"""What the window hands to support and to the screen's size: the diagnostics report, and a size that fits."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from speckle_uploader.logs import diagnostics
from speckle_uploader.speckle import Session

PREFERRED = (1240, 760)


def diagnostics_report(session: Session | None, jobs_summary: str) -> str:
    """Version, server, keychain and recent log lines (tokens masked), for a support request."""
    extra = {"Signed in": "no"}
    if session is not None:
        extra = {"Server": f"{session.server.name} {session.server.version or ''} at {session.server.url}",
                 "Server kind": session.server.kind.value,
                 "Live updates": "connected" if session.live and session.live.connected else "polling",
                 "Jobs": jobs_summary or "none"}
    return diagnostics(extra)


def fit_to_screen(window: QWidget) -> None:
    """The preferred size where there is room; never larger than the screen it opens on (any scaling)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    width, height = PREFERRED
    if screen is not None:
        room = screen.availableGeometry()
        width, height = min(width, room.width() - 24), min(height, room.height() - 48)
    window.resize(max(width, window.minimumWidth()), max(height, window.minimumHeight()))
