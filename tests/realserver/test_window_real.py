"""The window, offscreen, signed in to upstream's speckle-server 2.31.14, with a file dropped on it."""

from __future__ import annotations

import shutil
from pathlib import Path

from speckle_uploader.jobs import JobState
from speckle_uploader.ui.main_window import MainWindow
from tests.conftest import SAMPLES
from tests.keyrings import MemoryKeyring
from tests.realserver.conftest import IMPORT_DEADLINE, RealServer
from tests.ui.conftest import _collect_garbage_between_tests, context, running_qloop, window  # noqa: F401
from tests.ui.test_window import choose, drop, jobs_final, sign_in_with_dialog


def test_sign_in_and_drop_a_file(qtbot, window: MainWindow, memory_keyring: MemoryKeyring,  # type: ignore[no-untyped-def]  # noqa: F811
                                 real: RealServer, tmp_path: Path, unique: str) -> None:
    model = real.create_model(f"window-{unique}")
    project_name = real.gql("query($p:String!){project(id:$p){name}}", {"p": real.project})["project"]["name"]
    dialog = sign_in_with_dialog(qtbot, window, real, token=real.token)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.context.session is not None and not dialog.isVisible(), timeout=60_000)
    assert memory_keyring.secrets[("speckle-uploader", real.url)] == real.token
    choose(qtbot, window.picker, project_name, model["name"])

    dropped = tmp_path / f"column-grid-{unique}.ifc"
    shutil.copy(SAMPLES / "column-grid.ifc", dropped)
    drop(window, [dropped])
    assert window.table_model.rowCount() == 1
    qtbot.waitUntil(lambda: jobs_final(window), timeout=int(IMPORT_DEADLINE * 1000))
    job = window.table_model.jobs[0]
    assert job.state is JobState.SUCCESS, job.message
    real.assert_version({"status": job.state.value, "file": str(job.path), "model_id": job.model_id,
                         "model": job.model_name, "version_id": job.version_id})
    assert job.model_id == model["id"]
