"""What closing the window means while work goes on: keep working in the background (when a tray icon is
there to bring the window back), or quit and stop it. The reasons come from the window's
``keeps_working_reasons()`` (files on their way; other views add theirs, e.g. watched folders)."""

from __future__ import annotations

import enum

from PySide6.QtWidgets import QMessageBox, QWidget


class CloseChoice(enum.Enum):
    BACKGROUND = "background"
    QUIT = "quit"
    STAY = "stay"


def sentence(reasons: list[str]) -> str:
    """["1 file is still on its way"] -> "1 file is still on its way." (reasons joined, capitalised)."""
    text = "; ".join(reasons)
    return text[:1].upper() + text[1:] + "."


def ask_on_close(parent: QWidget, reasons: list[str], *, can_background: bool) -> CloseChoice:
    box = QMessageBox(QMessageBox.Icon.Question, "Speckle Uploader", sentence(reasons), parent=parent)
    box.setInformativeText("Closed to the tray, the app goes on; quitting stops the uploads (files the server "
                           "already has are still made into versions)." if can_background else
                           "Quitting stops the uploads (files the server already has are still made into "
                           "versions).")
    background = None
    if can_background:
        background = box.addButton("Keep uploading in the background", QMessageBox.ButtonRole.AcceptRole)
    quit_button = box.addButton("Quit and stop them", QMessageBox.ButtonRole.DestructiveRole)
    stay = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(background or stay)
    box.setEscapeButton(stay)
    box.exec()
    clicked = box.clickedButton()
    if background is not None and clicked is background:
        return CloseChoice.BACKGROUND
    if clicked is quit_button:
        return CloseChoice.QUIT
    return CloseChoice.STAY
