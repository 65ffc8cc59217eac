#!/usr/bin/env bash
# Builds dist/Speckle Uploader (one folder) and a .tar.gz with an installer script beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-.venv}"
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller pyinstaller.spec
BUNDLE="dist/Speckle Uploader"
install -m 644 packaging/linux/speckle-uploader.desktop packaging/linux/speckle-uploader-ifc.xml \
  packaging/linux/speckle-uploader-watch.service "$BUNDLE/"
install -m 644 packaging/icons/speckle-uploader-256.png "$BUNDLE/speckle-uploader.png"
install -m 755 packaging/linux/install.sh "$BUNDLE/install.sh"
"$BUNDLE/speckle-uploader" --selftest
VERSION=$("$VENV/bin/python" -c "import speckle_uploader; print(speckle_uploader.__version__)")
tar -C dist -czf "dist/speckle-uploader-$VERSION-linux-$(uname -m).tar.gz" "Speckle Uploader"
du -sh "$BUNDLE" "dist/speckle-uploader-$VERSION-linux-$(uname -m).tar.gz"
