"""Icons drawn at run time: the app mark and initials avatars (no image files to ship or lose)."""

from __future__ import annotations

import base64

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPixmap

BRAND = QColor("#0a66ff")


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(BRAND)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
        # An upward arrow over a base line: "upload".
        painter.setBrush(QColor("white"))
        s = size / 32
        arrow = QPainterPath()
        arrow.moveTo(16 * s, 6 * s)
        arrow.lineTo(24 * s, 15 * s)
        arrow.lineTo(19 * s, 15 * s)
        arrow.lineTo(19 * s, 22 * s)
        arrow.lineTo(13 * s, 22 * s)
        arrow.lineTo(13 * s, 15 * s)
        arrow.lineTo(8 * s, 15 * s)
        arrow.closeSubpath()
        painter.drawPath(arrow)
        painter.drawRoundedRect(QRectF(8 * s, 24.5 * s, 16 * s, 2.5 * s), 1.2 * s, 1.2 * s)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def avatar(name: str, data_uri: str | None, size: int = 36) -> QPixmap:
    """The user's avatar where the server sent an inline image, else their initials in a circle."""
    source = QPixmap()
    if data_uri and data_uri.startswith("data:image") and "," in data_uri:
        source.loadFromData(QByteArray(base64.b64decode(data_uri.split(",", 1)[1])))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    clip = QPainterPath()
    clip.addEllipse(QRectF(0, 0, size, size))
    painter.setClipPath(clip)
    if not source.isNull():
        painter.drawPixmap(0, 0, source.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                               Qt.TransformationMode.SmoothTransformation))
    else:
        painter.fillRect(0, 0, size, size, BRAND)
        painter.setPen(QColor("white"))
        font = QFont()
        font.setPixelSize(int(size * 0.4))
        font.setBold(True)
        painter.setFont(font)
        initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials)
    painter.end()
    return pixmap
