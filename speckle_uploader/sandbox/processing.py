"""Simulated file importers: queue, work through the file in steps, then a version or a reason.

IFC files are really checked (header, schema, end marker); other accepted types succeed. Each step
updates the record and tells the store's listeners, as the real server's subscriptions would.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from speckle_uploader.sandbox.ifc import check_ifc
from speckle_uploader.sandbox.store import LEGACY_IMPORTER_EXTENSIONS, FileUpload, Flavor, Ingestion, Store, now

STEPS = ("Downloading the file", "Reading the file", "Converting geometry", "Creating the version")


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _outcome(store: Store, path: Path, file_name: str) -> tuple[str, str]:
    """("success" | "failed" | "invalidInput" | "timeout", message)."""
    forced = store.forced_outcomes.get(file_name)
    if forced:
        return forced
    if file_name.lower().endswith(".ifc"):
        result = check_ifc(path)
        if not result.ok:
            return ("invalidInput" if result.not_ifc else "failed", result.problem)
        return "success", f"Imported {result.schema} file"
    return "success", "File converted successfully"


async def process_file_upload(store: Store, upload: FileUpload) -> None:
    """The open-source importers: convertedStatus 0 -> 2 (success) or 3 (error). The old importer (the legacy
    flavour) says 1 while converting; the next-gen one (``startFileImport``, upstream's default) never does: on a
    real 2.31.14 server the status stays 0 while its worker converts."""
    config = store.config
    await asyncio.sleep(config.queue_seconds)
    blob = store.blobs[upload.id]
    assert blob.path is not None

    def update(status: int, message: str | None) -> None:
        upload.converted_status, upload.converted_message, upload.last_update = status, message, now()
        store.emit("fileupload", upload)

    if store.flavor is Flavor.LEGACY:
        update(1, None)
    await asyncio.sleep(config.processing_seconds)
    extension = upload.file_name.rsplit(".", 1)[-1].lower()
    if extension not in LEGACY_IMPORTER_EXTENSIONS:
        update(3, f"File type {extension} is not supported")
        return
    project = store.projects[upload.project_id]
    if upload.model_id is None:  # servers before 2.26 create the model at import
        model = store.model_by_name(project, upload.model_name)
        if model is None:
            model = store.create_model(upload.project_id, upload.model_name, store.users[upload.user_id])
        upload.model_id = model.id
    outcome, message = _outcome(store, blob.path, upload.file_name)
    if outcome != "success":
        update(3, message if outcome != "timeout" else "File import job timed out")
        return
    upload.version_id = store.new_version(upload.project_id, upload.model_id, await asyncio.to_thread(_md5, blob.path))
    update(2, "File converted successfully")


async def process_ingestion(store: Store, ingestion: Ingestion) -> None:
    """The cloud importer: queued -> processing (with progress) -> success / failed / ... ."""
    config = store.config

    def update(status: str, message: str, progress: float | None = None) -> None:
        ingestion.status, ingestion.message, ingestion.progress = status, message, progress
        ingestion.updated_at = now()
        store.emit("ingestion", ingestion)

    def cancelled() -> bool:
        if ingestion.cancellation_requested:
            update("cancelled", "Cancelled at the user's request")
            return True
        return False

    await asyncio.sleep(config.queue_seconds)
    if cancelled():
        return
    step_time = config.processing_seconds / len(STEPS)
    for index, step in enumerate(STEPS):
        update("processing", step, index / len(STEPS))
        await asyncio.sleep(step_time)
        if cancelled():
            return
    blob = store.blobs[ingestion.blob_id]
    assert blob.path is not None
    outcome, message = _outcome(store, blob.path, blob.file_name)
    if outcome == "success":
        ingestion.version_id = store.new_version(
            ingestion.project_id, ingestion.model_id, await asyncio.to_thread(_md5, blob.path)
        )
    update(outcome, message)
