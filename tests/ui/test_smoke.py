"""The real app in a real (virtual) X display: it starts with --demo, shows its window and quits cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (Debian xvfb)")
def test_demo_window_opens_under_xvfb() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", sys.executable, "-m", "speckle_uploader", "--demo",
         "--quit-after", "3"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "qt.qpa.plugin: Could not load" not in result.stderr
    assert "window shown: True 1240x760 platform xcb signed in: Alex Morgan" in result.stdout


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (Debian xvfb)")
def test_startup_probe_reports_the_first_paint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """benchmarks/startup.py's probe: the window paints, says when, and the app closes cleanly, also where
    no keychain is reachable (no D-Bus session)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "DISPLAY", "DBUS_SESSION_BUS_ADDRESS")}
    env.update(QT_QPA_PLATFORM="xcb", SPECKLE_UPLOADER_HOME=str(tmp_path))
    result = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-m", "speckle_uploader", "--startup-probe"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("first paint at ")


def test_ctrl_c_in_the_terminal_quits_the_app(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import signal

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SPECKLE_UPLOADER_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "speckle_uploader", "--demo", "--quit-after", "300"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "window ready"
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
