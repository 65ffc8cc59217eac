"""Where the app keeps its history and logs: the platform's user folders, or ``$SPECKLE_UPLOADER_HOME``."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "Speckle Uploader"
HOME_ENV = "SPECKLE_UPLOADER_HOME"


def data_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    path = Path(override) / "data" if override else Path(platformdirs.user_data_dir(APP, "Speckle"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    path = Path(override) / "logs" if override else Path(platformdirs.user_log_dir(APP, "Speckle"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def history_path() -> Path:
    """The upload history the window and command-line runs share."""
    return data_dir() / "history.sqlite3"
