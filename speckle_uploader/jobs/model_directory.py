"""Models found by name (case-insensitively) or created, once per engine: a thousand files for one model ask
the server once, and two files racing for a new model create it once. The directory remembers which models it
created (never one it only found), so that one left empty by failed imports can be removed again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from speckle_uploader.speckle import Model, ModelNotFoundError, SpeckleClient, SpeckleError

log = logging.getLogger(__name__)


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
        self._created: set[tuple[str, str]] = set()  # (project id, model id) of models this engine created

    async def resolve(self, project_id: str, name: str, on_lookup: Callable[[], None] | None = None) -> Model:
        key = (project_id, name.strip().lower())
        async with self._locks.setdefault(key, asyncio.Lock()):
            model = self._models.get(key)
            if model is None:
                if on_lookup is not None:
                    on_lookup()
                model, created = await self.client.find_or_create_model_noting(project_id, name)
                self._models[key] = model
                if created:
                    self._created.add((project_id, model.id))
        return model

    def created(self, project_id: str, model_id: str) -> bool:
        """This engine created the model (it did not find it on the server)."""
        return (project_id, model_id) in self._created

    async def remove_if_empty(self, project_id: str, model_id: str, unused: Callable[[], bool], *,
                              cloud: bool) -> bool:
        """Delete a model this engine created if ``unused()`` (no job of ours needs it) and the server says,
        at this moment, that it holds no version and no import on its way. While this runs no job can resolve
        the model's name (they wait, then find or create it again). Failing is logged, never raised."""
        key = next((k for k, m in self._models.items() if k[0] == project_id and m.id == model_id), None)
        if key is None or not self.created(project_id, model_id):
            return False
        async with self._locks.setdefault(key, asyncio.Lock()):
            if self._models.get(key) is None or self._models[key].id != model_id or not unused():
                return False
            try:
                if not await self.client.model_is_empty(project_id, model_id, cloud=cloud):
                    return False
                deleted = await self.client.delete_model(project_id, model_id)
            except ModelNotFoundError:
                deleted = True  # gone already (deleted in the browser): nothing to remove, and nothing to reuse
            except SpeckleError as exc:
                log.warning("could not remove the empty model %s of project %s: %s", model_id, project_id, exc)
                return False
            if deleted:
                del self._models[key]
                self._created.discard((project_id, model_id))
            return deleted
