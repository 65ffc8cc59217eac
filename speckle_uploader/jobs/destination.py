"""Where files go, as a person chooses it: a project, and one model by name or a model per file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Destination:
    """``model_name`` None: a model per file, named after it. (The wire's ``Target`` is a model it resolved.)"""

    project_id: str
    project_name: str
    model_name: str | None
