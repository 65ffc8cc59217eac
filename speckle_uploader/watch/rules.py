"""A publish rule: a folder and file patterns -> a server, a project and a model, with a version message."""

from __future__ import annotations

import enum
import getpass
import hashlib
import socket
import string
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from speckle_uploader.jobs.model_directory import clean_model_name, model_name_for

MODEL_FIELDS = {"stem", "folder", "path"}
MESSAGE_FIELDS = {"file", "stem", "folder", "path", "modified", "host", "user"}
DEFAULT_MESSAGE = "{file}, saved {modified}"


class ModelMode(enum.Enum):
    FIXED = "fixed"  # every file to one model
    PER_FILE = "per_file"  # a model named after each file
    TEMPLATE = "template"  # a model named from {path}/{folder}/{stem}


@dataclass
class PublishRule:
    folder: Path
    server_url: str
    project_id: str
    project_name: str = ""
    model_mode: ModelMode = ModelMode.PER_FILE
    model_name: str = ""  # FIXED: the model; TEMPLATE: the template
    message_template: str = DEFAULT_MESSAGE
    subfolders: bool = True
    patterns: list[str] = field(default_factory=list)  # empty: the types the server takes
    settle_seconds: float = 10.0
    id: int | None = None  # set once stored
    paused: bool = False

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        problem = self.problem()
        if problem:
            raise ValueError(problem)

    def problem(self) -> str:
        """Why this rule cannot work, in one sentence ("" when it can)."""
        if self.model_mode is ModelMode.FIXED and not self.model_name.strip():
            return "Name the model the files go to."
        if self.model_mode is ModelMode.TEMPLATE:
            unknown = _fields(self.model_name) - MODEL_FIELDS
            if not self.model_name.strip() or unknown:
                return ("The model name template may use {stem}, {folder} and {path}"
                        + (f", not {', '.join('{' + u + '}' for u in sorted(unknown))}." if unknown else "."))
        unknown = _fields(self.message_template) - MESSAGE_FIELDS
        if unknown:
            return (f"The message may use {', '.join('{' + f + '}' for f in sorted(MESSAGE_FIELDS))}, not "
                    f"{', '.join('{' + u + '}' for u in sorted(unknown))}.")
        if self.settle_seconds < 0:
            return "The settling time cannot be negative."
        return ""

    @property
    def key(self) -> str:
        """Stable identity of what the rule publishes where: what it published survives restarts (and a
        command-line ``watch`` run with the same arguments finds it again)."""
        spec = f"{self.server_url}|{self.project_id}|{self.folder.resolve()}|{self.model_mode.value}|{self.model_name}"
        return hashlib.sha256(spec.encode("utf-8", "surrogateescape")).hexdigest()[:24]

    def model_for(self, path: Path) -> str:
        """The model a file goes to (the server lower-cases it)."""
        if self.model_mode is ModelMode.FIXED:
            return self.model_name.strip()
        if self.model_mode is ModelMode.PER_FILE:
            return model_name_for(path)
        rendered = _render(self.model_name, self._fields(path))
        parts = [clean_model_name(part) for part in rendered.split("/")]
        return "/".join(p for p in parts if p) or model_name_for(path)

    def message_for(self, path: Path, modified: float) -> str:
        values = {**self._fields(path), "file": path.name,
                  "modified": time.strftime("%Y-%m-%d %H:%M", time.localtime(modified)),
                  "host": socket.gethostname(), "user": _user()}
        return " ".join(_render(self.message_template, values).split())[:1000]

    def _fields(self, path: Path) -> dict[str, str]:
        try:
            relative = PurePosixPath(*path.relative_to(self.folder).parts)
        except ValueError:
            relative = PurePosixPath(path.name)
        folder = relative.parent.name or self.folder.name
        return {"stem": path.stem, "folder": folder, "path": str(relative.parent) if relative.parent.parts else ""}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(folder=str(self.folder), model_mode=self.model_mode.value)
        data.pop("id")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, rule_id: int | None = None) -> PublishRule:
        known = {f for f in cls.__dataclass_fields__ if f != "id"}
        values = {k: v for k, v in data.items() if k in known}
        values["model_mode"] = ModelMode(values.get("model_mode", ModelMode.PER_FILE.value))
        values["folder"] = Path(values["folder"])
        return cls(**values, id=rule_id)


def _fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return {"(unbalanced braces)"}


def _render(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""
