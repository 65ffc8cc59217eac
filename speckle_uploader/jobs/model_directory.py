"""Models found by name (case-insensitively) or created, once per engine: a thousand files for one model ask
the server once, and two files racing for a new model create it once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from speckle_uploader.speckle import Model, SpeckleClient


def clean_model_name(text: str) -> str:
    """One level of a model name the server accepts: no leading #/$, no commas, slashes, backslashes or line
    breaks ("" when nothing is left)."""
    name = " ".join(text.split())  # newlines and tabs in a file name must not reach a model name
    for bad in (",", "\\", "/"):
        name = name.replace(bad, "-")
    return name.lstrip("#$").strip()


def model_name_for(path: Path) -> str:
    """A model name the server accepts, from a file name."""
    return clean_model_name(path.stem) or "upload"


class ModelDirectory:
    def __init__(self, client: SpeckleClient) -> None:
        self.client = client
        self._models: dict[tuple[str, str], Model] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def resolve(self, project_id: str, name: str, on_lookup: Callable[[], None] | None = None) -> Model:
        key = (project_id, name.strip().lower())
        async with self._locks.setdefault(key, asyncio.Lock()):
            model = self._models.get(key)
            if model is None:
                if on_lookup is not None:
                    on_lookup()
                model = await self.client.find_or_create_model(project_id, name)
                self._models[key] = model
        return model
