"""A job: one file on its way to a model version, with explicit states."""

from __future__ import annotations

import enum
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from speckle_uploader.speckle import RemoteState
from speckle_uploader.text import unicode_text


class JobState(enum.Enum):
    WAITING = "waiting"
    UPLOADING = "uploading"
    REGISTERING = "registering"
    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INVALID_INPUT = "invalidInput"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"  # the app stopped while the file was on its way; retry uploads it again

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def on_server(self) -> bool:
        """The server holds the file and is working on it."""
        return self in (JobState.QUEUED, JobState.PROCESSING)

    @classmethod
    def from_remote(cls, remote: RemoteState) -> JobState:
        return cls(remote.value)


FINAL_STATES = frozenset(
    {JobState.SUCCESS, JobState.FAILED, JobState.CANCELLED, JobState.INVALID_INPUT, JobState.TIMEOUT,
     JobState.INTERRUPTED}
)


# "host:pid" of this process: a job another live process runs is shown, never taken over.
THIS_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


class JobEvent(enum.Enum):
    ADDED = "added"
    RESTORED = "restored"  # a job of an earlier run, shown again as it was saved
    STATE = "state"  # state or message changed
    PROGRESS = "progress"  # bytes sent or server progress changed


@dataclass
class Job:
    id: int
    path: Path
    project_id: str
    model_name: str
    size: int = 0
    state: JobState = JobState.WAITING
    message: str = ""
    bytes_sent: int = 0
    server_progress: float | None = None
    model_id: str | None = None
    file_id: str | None = None
    tracking_id: str | None = None
    version_id: str | None = None
    error_code: str | None = None
    attempt: int = 0
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    version_message: str | None = None  # set on the new version ("Exported from Revit", a rule's template)
    owner: str = field(default_factory=lambda: THIS_PROCESS)  # which process runs it: history is shared
    rule_id: int | None = None  # the watched-folder rule that published it

    # -- what the job allows (the window and the command line ask here, never decide again) ------
    @property
    def can_cancel(self) -> bool:
        return not self.state.is_final

    @property
    def can_retry(self) -> bool:
        return self.state.is_final and self.state is not JobState.SUCCESS

    @property
    def can_open(self) -> bool:
        """There is a version to open in the browser."""
        return self.state is JobState.SUCCESS and bool(self.version_id and self.model_id)

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def upload_fraction(self) -> float:
        return self.bytes_sent / self.size if self.size else 0.0

    def version_url(self, server_url: str) -> str | None:
        if not (self.version_id and self.model_id):
            return None
        ids = (quote(unicode_text(each), safe="") for each in (self.project_id, self.model_id, self.version_id))
        return "{}/projects/{}/models/{}@{}".format(server_url, *ids)  # server ids are escaped, never trusted
