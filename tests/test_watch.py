"""Watched folders, end to end against the sandbox: settle, ignore, unchanged, supersede, catch-up, a share
that goes and comes back, pause and resume, model templates and version messages."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from speckle_uploader.jobs import JobState, Workspace
from speckle_uploader.sandbox import ThreadedSandbox
from speckle_uploader.watch import ModelMode, PublishRule, RuleState, WatchService
from speckle_uploader.watch.files import FileState, scan
from speckle_uploader.watch.settle import Settler
from tests.conftest import SAMPLES, open_engine, project_id, wait_until

WALL = (SAMPLES / "simple-wall.ifc").read_bytes()


def ifc(path: Path, note: str = "") -> Path:
    """A valid IFC whose bytes differ by ``note`` (a STEP comment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head, tail = WALL.split(b"ENDSEC;\nEND-ISO-10303-21;")
    path.write_bytes(head + f"/* {note} */\n".encode() + b"ENDSEC;\nEND-ISO-10303-21;" + tail)
    return path


def later(path: Path, seconds: int = 5) -> None:
    """Saved again: a later modification time (whatever the file system's clock resolution)."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 1_000_000_000))


def versions(server: ThreadedSandbox, model_name: str) -> list[str]:
    project = server.sandbox.store.projects[project_id(server)]
    model = server.sandbox.store.model_by_name(project, model_name)
    return list(model.versions) if model else []


def messages(server: ThreadedSandbox, model_name: str) -> list[str | None]:
    project = server.sandbox.store.projects[project_id(server)]
    model = server.sandbox.store.model_by_name(project, model_name)
    return [model.messages.get(v) for v in model.versions] if model else []


@asynccontextmanager
async def watching(server: ThreadedSandbox, folder: Path, history: Path, **rule_options: object
                   ) -> AsyncIterator[tuple[WatchService, Workspace, PublishRule]]:
    workspace = await open_engine(server, history=history)
    service = WatchService(workspace, rescan_seconds=0.2, network_rescan_seconds=0.2, tick_seconds=0.05)
    await service.start()
    rule = PublishRule(folder, server.url, project_id(server), **{"settle_seconds": 0.2, **rule_options})  # type: ignore[arg-type]
    existing = [s.rule for s in service.statuses if s.rule.key == rule.key]
    if existing:
        rule = existing[0]
    else:
        service.add(rule)
    try:
        yield service, workspace, rule
    finally:
        await service.stop()
        await workspace.close()


def test_a_file_settles_only_once_it_stops_changing() -> None:
    settler = Settler(10.0)
    path = Path("slow.ifc")
    for second in range(60):  # a slow writer: 1 MB a second for a minute
        settler.saw(path, FileState(second * 1_000_000, second), float(second))
        assert settler.settled(float(second)) == []
    assert settler.settled(68.9) == []
    assert settler.settled(69.0) == [(path, FileState(59_000_000, 59))]


def test_lock_temp_and_backup_files_are_left_alone(tmp_path: Path) -> None:
    for name in ("ARC.ifc", "sub/STR.ifc", "~$ARC.ifc", ".~lock.ARC.ifc#", "ARC.ifc.tmp", "ARC.bak", "plan.dwl",
                 "plan.dwl2", "Tower.0001.rvt", "Tower.rvt", "Thumbs.db", ".DS_Store", ".hidden.ifc", "notes.txt",
                 ".git/model.ifc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = scan(tmp_path, ["*.ifc", "*.rvt"])
    assert sorted(str(p.relative_to(tmp_path)) for p in found) == ["ARC.ifc", "Tower.rvt", "sub/STR.ifc"]
    assert sorted(p.name for p in scan(tmp_path, ["*.ifc"], subfolders=False)) == ["ARC.ifc"]


def test_links_out_of_the_folder_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "private" / "key.ifc"
    ifc(secret)
    shared = tmp_path / "shared"
    ifc(shared / "real.ifc")
    (shared / "site.ifc").symlink_to(secret)
    (shared / "inside.ifc").symlink_to(shared / "real.ifc")
    assert sorted(p.name for p in scan(shared, ["*.ifc"])) == ["inside.ifc", "real.ifc"]


def test_a_linked_folder_keeps_the_name_the_user_gave(tmp_path: Path) -> None:
    real = tmp_path / "real"
    ifc(real / "Tower A" / "ARC.ifc")
    link = tmp_path / "exports"
    link.symlink_to(real, target_is_directory=True)
    assert list(scan(link, ["*.ifc"])) == [link / "Tower A" / "ARC.ifc"]
    rule = PublishRule(link, "https://x", "p", model_mode=ModelMode.TEMPLATE, model_name="{path}/{stem}")
    assert rule.model_for(link / "Tower A" / "ARC.ifc") == "Tower A/ARC"


def test_online_only_placeholders_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ifc(tmp_path / "local.ifc")
    ifc(tmp_path / "cloud.ifc")
    monkeypatch.setattr("speckle_uploader.watch.files.is_placeholder", lambda info: info.st_size == 0 or
                        info.st_ino == (tmp_path / "cloud.ifc").stat().st_ino)
    found = scan(tmp_path, ["*.ifc"])
    assert {p.name: s.placeholder for p, s in found.items()} == {"local.ifc": False, "cloud.ifc": True}


def test_model_and_message_templates(tmp_path: Path) -> None:
    rule = PublishRule(tmp_path, "https://x", "p", model_mode=ModelMode.TEMPLATE, model_name="{path}/{stem}",
                       message_template="{file} from {folder} on {host}")
    assert rule.model_for(tmp_path / "Tower A" / "ARC.ifc") == "Tower A/ARC"
    assert rule.model_for(tmp_path / "ARC, v2.ifc") == "ARC- v2"
    assert rule.message_for(tmp_path / "Tower A" / "ARC.ifc", 0).startswith("ARC.ifc from Tower A on ")
    with pytest.raises(ValueError, match="may use"):
        PublishRule(tmp_path, "https://x", "p", model_mode=ModelMode.TEMPLATE, model_name="{project}")
    with pytest.raises(ValueError, match="Name the model"):
        PublishRule(tmp_path, "https://x", "p", model_mode=ModelMode.FIXED)


@pytest.mark.asyncio
async def test_exports_become_versions_once_each(fileimport_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    ifc(folder / "Tower A" / "ARC.ifc", "first")
    async with watching(fileimport_sandbox, folder, tmp_path / "h.sqlite3", model_mode=ModelMode.TEMPLATE,
                        model_name="{path}/{stem}", message_template="Export of {file}") as (service, _ws, rule):
        await wait_until(lambda: messages(fileimport_sandbox, "tower a/arc") == ["Export of ARC.ifc"],
                         what="the first version, with its message")
        assert rule.id is not None
        await wait_until(lambda: service.status(rule.id or 0).state is RuleState.WATCHING, what="watching")
        status = service.status(rule.id)
        assert status.last_job is not None and status.last_job.version_id in versions(fileimport_sandbox,
                                                                                       "tower a/arc")
        later(folder / "Tower A" / "ARC.ifc")  # saved again, same bytes
        await wait_until(lambda: "unchanged, not published" in service.status(rule.id or 0).last_note,
                         what="the unchanged note")
        ifc(folder / "Tower A" / "ARC.ifc", "second")
        later(folder / "Tower A" / "ARC.ifc", 10)
        await wait_until(lambda: len(versions(fileimport_sandbox, "tower a/arc")) == 2, what="the second version")
    assert len(versions(fileimport_sandbox, "tower a/arc")) == 2


@pytest.mark.asyncio
async def test_a_newer_save_supersedes_an_upload_in_progress(cloud_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", 2e6)
    folder = tmp_path / "exports"
    big = folder / "big.ifc"
    from tests.conftest import big_ifc

    folder.mkdir()
    big_ifc(big, 8_000_000)
    async with watching(cloud_sandbox, folder, tmp_path / "h.sqlite3", model_mode=ModelMode.FIXED,
                        model_name="coordination") as (service, workspace, _rule):
        await wait_until(lambda: any(j.state is JobState.UPLOADING and j.bytes_sent > 0 for j in workspace.queue.jobs),
                         what="the first upload")
        first = workspace.queue.jobs[0]
        # Saved again the way exporters do: written aside, then renamed over the old file (the upload in
        # progress keeps reading the old one until the newer save has settled and cancels it).
        ifc(folder / "big.ifc.part", "the newer save")
        (folder / "big.ifc.part").replace(big)
        later(big, 30)
        await wait_until(lambda: first.state.is_final, what="the older upload stopped")
        cloud_sandbox.call(setattr, cloud_sandbox.sandbox.config, "blob_bytes_per_second", None)
        await wait_until(lambda: len(versions(cloud_sandbox, "coordination")) == 1 and all(
            j.state.is_final for j in workspace.queue.jobs), what="the newer save published")
        assert first.state is JobState.CANCELLED
        assert service.status(_rule.id or 0).state is RuleState.WATCHING  # not a failure of the rule
        [second] = [j for j in workspace.queue.jobs if j is not first]
        assert second.state is JobState.SUCCESS and second.size == big.stat().st_size
    assert len(versions(cloud_sandbox, "coordination")) == 1  # never two versions for one save


@pytest.mark.asyncio
async def test_catches_up_once_after_a_restart(fileimport_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    ifc(folder / "A.ifc", "a1")
    ifc(folder / "B.ifc", "b1")
    history = tmp_path / "h.sqlite3"
    async with watching(fileimport_sandbox, folder, history):
        await wait_until(lambda: len(versions(fileimport_sandbox, "a")) == len(versions(fileimport_sandbox, "b")) == 1,
                         what="both published")
    ifc(folder / "A.ifc", "a2")  # changed while the app was closed
    later(folder / "A.ifc", 20)
    later(folder / "B.ifc", 20)  # saved again with the same bytes
    async with watching(fileimport_sandbox, folder, history) as (service, workspace, rule):
        await wait_until(lambda: len(versions(fileimport_sandbox, "a")) == 2, what="the catch-up")
        await wait_until(lambda: service.status(rule.id or 0).state is RuleState.WATCHING and not any(
            not j.state.is_final for j in workspace.queue.jobs), what="quiet")
    assert len(versions(fileimport_sandbox, "b")) == 1


@pytest.mark.asyncio
async def test_a_share_that_disappears_pauses_until_it_is_back(fileimport_sandbox: ThreadedSandbox,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "share"
    ifc(folder / "site.ifc", "one")
    async with watching(fileimport_sandbox, folder, tmp_path / "h.sqlite3") as (service, _ws, rule):
        await wait_until(lambda: len(versions(fileimport_sandbox, "site")) == 1, what="published")
        shutil.rmtree(folder)
        await wait_until(lambda: service.status(rule.id or 0).state is RuleState.WAITING_FOR_FOLDER,
                         what="the rule waiting for its folder")
        assert "cannot be reached" in service.status(rule.id or 0).reason
        ifc(folder / "site.ifc", "two")
        await wait_until(lambda: len(versions(fileimport_sandbox, "site")) == 2, what="published after the return")
        assert service.status(rule.id or 0).state in (RuleState.WATCHING, RuleState.PUBLISHING)


@pytest.mark.asyncio
async def test_pause_and_resume(fileimport_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    ifc(folder / "plan.ifc", "one")
    async with watching(fileimport_sandbox, folder, tmp_path / "h.sqlite3") as (service, workspace, rule):
        await wait_until(lambda: len(versions(fileimport_sandbox, "plan")) == 1, what="published")
        service.pause(rule.id or 0)
        ifc(folder / "plan.ifc", "two")
        later(folder / "plan.ifc", 10)
        scans = service.status(rule.id or 0).files_seen
        assert service.status(rule.id or 0).state is RuleState.PAUSED and scans == 1
        # Paused for a while (several rescans' worth): nothing is published meanwhile.
        await wait_until(lambda: len(workspace.queue.jobs) == 1 and service._next_scan[rule.id or 0] > 0,
                         what="a paused rescan slot")
        assert len(versions(fileimport_sandbox, "plan")) == 1
        service.resume(rule.id or 0)
        await wait_until(lambda: len(versions(fileimport_sandbox, "plan")) == 2, what="published after resume")


@pytest.mark.asyncio
async def test_a_refused_token_stops_the_rule_and_says_why(fileimport_sandbox: ThreadedSandbox,
                                                           tmp_path: Path) -> None:
    from speckle_uploader.sandbox.server import Fault

    folder = tmp_path / "exports"
    ifc(folder / "plan.ifc", "one")
    async with watching(fileimport_sandbox, folder, tmp_path / "h.sqlite3") as (service, _ws, rule):
        await wait_until(lambda: len(versions(fileimport_sandbox, "plan")) == 1, what="published")
        fileimport_sandbox.call(fileimport_sandbox.sandbox.faults.append, Fault(
            "/graphql", 403, '{"error":"Your token is not valid."}', {"Content-Type": "application/json"}, 50))
        ifc(folder / "plan.ifc", "two")
        later(folder / "plan.ifc", 10)
        await wait_until(lambda: service.status(rule.id or 0).state is RuleState.STOPPED, what="the rule stopped")
        assert "refused the sign-in" in service.status(rule.id or 0).reason
        assert "Sign in again, then resume" in service.status(rule.id or 0).reason


@pytest.mark.asyncio
async def test_a_file_still_held_by_its_exporter_waits(fileimport_sandbox: ThreadedSandbox, tmp_path: Path) -> None:
    """On Windows an export still open in Revit refuses a shared read: the rule waits, it does not fail."""
    folder = tmp_path / "exports"
    ifc(folder / "held.ifc", "one")
    released = [False]
    looked: list[Path] = []

    def readiness(path: Path) -> bool:
        looked.append(path)
        return released[0]

    workspace = await open_engine(fileimport_sandbox, history=tmp_path / "h.sqlite3")
    service = WatchService(workspace, rescan_seconds=0.2, network_rescan_seconds=0.2, tick_seconds=0.05,
                           readiness=readiness)
    await service.start()
    service.add(PublishRule(folder, fileimport_sandbox.url, project_id(fileimport_sandbox), settle_seconds=0.1))
    try:
        await wait_until(lambda: len(looked) >= 3, what="several looks at the held file")
        assert workspace.queue.jobs == []
        released[0] = True
        await wait_until(lambda: len(versions(fileimport_sandbox, "held")) == 1, what="published once released")
    finally:
        await service.stop()
        await workspace.close()
