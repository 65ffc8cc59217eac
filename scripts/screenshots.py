"""Takes the README's screenshots from the real window on the demo sandbox (run under xvfb-run).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshots.py docs/
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from speckle_uploader.credentials import CredentialStore
from speckle_uploader.sandbox import DEMO_TOKEN, SandboxConfig, ThreadedSandbox
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.icons import app_icon
from speckle_uploader.ui.main_window import MainWindow
from speckle_uploader.ui.sign_in import SignInDialog
from speckle_uploader.watch import ModelMode, PublishRule

ROOT = Path(__file__).resolve().parent.parent
SUFFIX = ""  # "-dark" with --dark


async def settle(seconds: float) -> None:
    await asyncio.sleep(seconds)  # qasync keeps Qt's events flowing meanwhile


async def shoot(out: Path) -> None:
    work = Path(tempfile.mkdtemp())
    with ThreadedSandbox(SandboxConfig(processing_seconds=30, blob_size_limit_bytes=40 * 1024 * 1024)) as sandbox:
        settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        context = AppContext(CredentialStore(), settings)
        context.remember_tokens = False
        context.watch_options = {"rescan_seconds": 0.3, "network_rescan_seconds": 0.3, "tick_seconds": 0.05}
        window = MainWindow(context)
        window.show()
        await context.sign_in(sandbox.url, DEMO_TOKEN)
        await settle(0.5)
        window.picker.projects.select_where(lambda p: p.name == "Riverside Library")
        await settle(0.5)
        window.picker.models.select_where(lambda m: getattr(m, "name", None) == "architecture")
        await settle(0.3)

        files = []
        for sample in sorted((ROOT / "resources" / "samples").glob("*.ifc")):
            files.append(work / sample.name)
            shutil.copy(sample, files[-1])
        big = work / "Tower-B-full.ifc"
        head, tail = (ROOT / "resources" / "samples" / "simple-wall.ifc").read_bytes().split(b"ENDSEC;\nEND-ISO")
        big.write_bytes(head + b"/*" + b" " * 30 * 1024 * 1024 + b"*/\nENDSEC;\nEND-ISO" + tail)
        broken = work / "site-survey.ifc"
        broken.write_text("ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n#1=IFCWALL(")
        huge = work / "campus-federated.ifc"
        with huge.open("wb") as handle:
            handle.truncate(60 * 1024 * 1024)
        drawing = work / "level-02-plan.pdf"
        drawing.write_bytes(b"%PDF-1.7")

        sandbox.sandbox.config.processing_seconds = 0.8
        window.add_paths([files[0], broken])
        await settle(3.0)
        sandbox.sandbox.config.processing_seconds = 30
        window.add_paths([files[1], files[2]])
        await settle(1.5)
        sandbox.sandbox.config.blob_bytes_per_second = 12e6  # catch one upload mid-flight
        window.add_paths([big, huge, drawing])
        for _ in range(400):
            await asyncio.sleep(0.005)
            if any(0.25 < j.upload_fraction < 0.7 for j in window.table_model.jobs if j.size > 1e6):
                break
        window.select_row(1)
        await settle(0.15)
        window.grab().save(str(out / f"main-window{SUFFIX}.png"))
        if SUFFIX:  # the dark palette: the main window is enough to judge readability
            window.close_without_asking()
            await context.shutdown()
            return

        # The paused queue: what is sending finishes, the rest waits, the batch line says so.
        window.pause_all()
        more = [work / f"Tower-A-level-{n:02d}.ifc" for n in range(1, 4)]
        for path in more:
            shutil.copy(files[0], path)
        window.add_paths(more)
        await settle(1.0)
        window.grab().save(str(out / "main-window-paused.png"))
        window.resume_all()

        dialog = SignInDialog(context, window)
        dialog.server.setCurrentText("https://speckle.example-architects.com")
        dialog.token.setText("not-a-real-token")
        dialog.show_error("speckle.example-architects.com refused the access token (Your token is not valid). "
                          "Create a new personal access token and sign in again.")
        dialog.show()
        await settle(0.5)
        dialog.grab().save(str(out / "sign-in.png"))
        dialog.close()
        await shoot_watched_folders(window, sandbox, work, out)
        window.close_without_asking()
        await context.shutdown()


async def shoot_watched_folders(window: MainWindow, sandbox: ThreadedSandbox, work: Path, out: Path) -> None:
    """Three watched folders: one publishing by a template, one paused, one on a share that is gone."""
    service = window.context.watch
    assert service is not None
    sandbox.sandbox.config.processing_seconds = 0.5
    sandbox.sandbox.config.blob_bytes_per_second = None
    wall = (ROOT / "resources" / "samples" / "simple-wall.ifc").read_bytes()
    exports = work / "Exports"
    for name in ("Tower A/ARC.ifc", "Tower A/STR.ifc", "Tower B/ARC.ifc"):
        (exports / name).parent.mkdir(parents=True, exist_ok=True)
        (exports / name).write_bytes(wall)
    (work / "Structure").mkdir()
    riverside = next(p for p in sandbox.sandbox.store.projects.values() if p.name == "Riverside Library")
    harbour = next(p for p in sandbox.sandbox.store.projects.values() if p.name != "Riverside Library")
    service.add(PublishRule(exports, sandbox.url, riverside.id, project_name=riverside.name,
                            model_mode=ModelMode.TEMPLATE, model_name="{path}/{stem}", settle_seconds=0.2))
    paused = service.add(PublishRule(work / "Structure", sandbox.url, harbour.id, project_name=harbour.name,
                                     model_mode=ModelMode.FIXED, model_name="Structure", settle_seconds=0.2))
    service.add(PublishRule(work / "office-share" / "MEP", sandbox.url, riverside.id, project_name=riverside.name,
                            model_mode=ModelMode.PER_FILE, settle_seconds=0.2))
    assert paused.rule.id is not None
    service.pause(paused.rule.id)
    view = window.watched.view
    window.watched.show_view()
    for _ in range(200):
        await settle(0.1)
        if all(s.last_job is not None for s in service.statuses if s.rule.folder == exports) and \
                not any(j for j in window.table_model.jobs if not j.state.is_final):
            break
    await settle(1.0)
    view.select_rule(service.statuses[0].rule.id)
    await settle(0.3)
    view.grab().save(str(out / "watched-folders.png"))
    rule_dialog = view.edit_rule()
    await settle(1.0)
    if rule_dialog is not None:
        rule_dialog.grab().save(str(out / "watched-folder-rule.png"))
        rule_dialog.reject()
    view.close()


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--dark"]
    out = Path(args[0] if args else "docs")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    if "--dark" in sys.argv:  # to check readability on a dark desktop theme: docs/main-window-dark.png
        global SUFFIX
        SUFFIX = "-dark"
        app.setStyle("Fusion")
        palette = QPalette()
        roles = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
                 QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.AlternateBase: "#262626",
                 QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353535",
                 QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#2f6fd6",
                 QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: "#9a9a9a",
                 QPalette.ColorRole.Mid: "#5a5a5a", QPalette.ColorRole.ToolTipBase: "#353535",
                 QPalette.ColorRole.ToolTipText: "#e6e6e6"}
        for role, colour in roles.items():
            palette.setColor(role, QColor(colour))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6f6f6f"))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6f6f6f"))
        app.setPalette(palette)
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
