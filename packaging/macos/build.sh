#!/usr/bin/env bash
# Builds "dist/Speckle Uploader.app" on macOS, checks it and zips it (dist/speckle-uploader-VERSION-macos-ARCH.zip).
# Sign and notarise it as SIGNING.md says. The same requirements and spec as the Windows and Linux builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d .venv ] || "${PYTHON:-python3.11}" -m venv .venv
.venv/bin/python -m pip install -q -r packaging/build-requirements.txt -e .   # Pillow turns the PNG icon into .icns
.venv/bin/python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller pyinstaller.spec
"dist/Speckle Uploader.app/Contents/MacOS/speckle-uploader" --selftest
VERSION=$(.venv/bin/python -c "import speckle_uploader; print(speckle_uploader.__version__)")
ditto -c -k --keepParent "dist/Speckle Uploader.app" "dist/speckle-uploader-$VERSION-macos-$(uname -m).zip"
du -sh "dist/Speckle Uploader.app" "dist/speckle-uploader-$VERSION-macos-$(uname -m).zip"
