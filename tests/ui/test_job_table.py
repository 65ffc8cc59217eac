"""The jobs table model: correct Qt model signals, row-level updates, coalesced progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from speckle_uploader.formatting import format_duration
from speckle_uploader.jobs import Job, JobEvent, JobState
from speckle_uploader.ui.columns import Column
from speckle_uploader.ui.job_table import FRACTION_ROLE, JOB_ROLE, JobTableModel


def job(job_id: int, state: JobState = JobState.WAITING, **fields: object) -> Job:
    made = Job(id=job_id, path=Path(f"/models/file-{job_id}.ifc"), project_id="p1", model_name="arch",
               size=1000, state=state)
    for key, value in fields.items():
        setattr(made, key, value)
    return made


def test_model_passes_qt_model_tester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = JobTableModel()
    model.set_project_names({"p1": "Riverside Library"})
    jobs = [job(1), job(2, JobState.SUCCESS, version_id="v1"), job(3, JobState.FAILED, message="Bad file"),
            job(4, JobState.UPLOADING, bytes_sent=500)]
    for item in jobs:
        model.on_job_event(JobEvent.ADDED, item)
    qtmodeltester.check(model)
    assert model.rowCount() == 4 and model.columnCount() == len(Column)
    assert model.index(0, Column.TARGET).data() == "Riverside Library / arch"
    assert model.index(1, Column.MESSAGE).data() == "New version (v1)"
    assert model.index(2, Column.STATE).data() == "Failed"
    assert model.index(2, Column.MESSAGE).data() == "Bad file"
    assert model.index(3, Column.PROGRESS).data(FRACTION_ROLE) == 0.5
    assert model.index(3, Column.FILE).data(JOB_ROLE) is jobs[3]
    assert "/models/file-4.ifc" in model.index(3, Column.FILE).data(Qt.ItemDataRole.ToolTipRole)

    removed = model.remove_finished()  # failures stay unless asked
    assert {j.id for j in removed} == {2}
    assert [model.job_at(row).id for row in range(model.rowCount())] == [1, 3, 4]
    qtmodeltester.check(model)
    removed = model.remove_finished(failed_too=True)
    assert {j.id for j in removed} == {3}
    assert [model.job_at(row).id for row in range(model.rowCount())] == [1, 4]
    qtmodeltester.check(model)


def test_state_changes_update_one_row_at_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = JobTableModel()
    first, second = job(1), job(2)
    model.on_job_event(JobEvent.ADDED, first)
    model.on_job_event(JobEvent.ADDED, second)
    changes: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=None: changes.append((a.row(), a.column(), b.row(), b.column())))
    second.state = JobState.QUEUED
    model.on_job_event(JobEvent.STATE, second)
    assert changes == [(1, 0, 1, len(Column) - 1)]  # that row only, no reset


def test_progress_is_coalesced(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = JobTableModel()
    uploading = job(1, JobState.UPLOADING, size=10_000)
    model.on_job_event(JobEvent.ADDED, uploading)
    changes: list[int] = []
    model.dataChanged.connect(lambda a, _b, _roles=None: changes.append(a.row()))
    for sent in range(0, 10_000, 10):  # a thousand progress events in a burst
        uploading.bytes_sent = sent
        model.on_job_event(JobEvent.PROGRESS, uploading)
    assert changes == []
    qtbot.waitUntil(lambda: changes == [0], timeout=1000)  # one repaint for the whole burst


def test_progress_text_and_summary() -> None:
    model = JobTableModel()
    states = [JobState.UPLOADING, JobState.PROCESSING, JobState.SUCCESS, JobState.SUCCESS, JobState.FAILED,
              JobState.WAITING, JobState.QUEUED, JobState.CANCELLED]
    for number, state in enumerate(states):
        model.on_job_event(JobEvent.ADDED, job(number, state, message="Converting", server_progress=0.4))
    assert model.summary() == "1 uploading · 2 processing · 1 waiting · 2 done · 1 failed · 1 cancelled"
    assert model.index(1, Column.PROGRESS).data() == "40% · Converting"
    assert model.index(0, Column.PROGRESS).data() == "0%"
    assert format_duration(42) == "42 s" and format_duration(125) == "2 min 05 s"
    assert format_duration(7322) == "2 h 02 min"
