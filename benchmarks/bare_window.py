"""The reference for start-up figures: a bare PySide6 window that prints when it first paints, then quits.
Run by benchmarks/startup.py on Linux and by packaging/windows/ci.sh under Wine's Python."""

import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel

app = QApplication(sys.argv)
window = QLabel("bare window")


class Probe(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            print(f"first paint at {time.time():.6f}", flush=True)
            QTimer.singleShot(0, app.quit)
        return False


probe = Probe()
window.installEventFilter(probe)
window.resize(640, 400)
window.show()
app.exec()
