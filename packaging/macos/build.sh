#!/usr/bin/env bash
# Builds "dist/Speckle Uploader.app" on macOS and checks it. Sign and notarise it as SIGNING.md says.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d .venv ] || python3.11 -m venv .venv
.venv/bin/python -m pip install -q -e ".[dev]" pillow   # Pillow turns the PNG icon into .icns
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller pyinstaller.spec
"dist/Speckle Uploader.app/Contents/MacOS/speckle-uploader" --selftest
