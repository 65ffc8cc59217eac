#!/usr/bin/env bash
# Peak RSS of `speckle-uploader upload` for a 100 MiB and a 2000 MiB file against the sandbox (open-source
# flavor, blobs to disk). 2000 MiB rather than 2 GiB: blobSizeLimitBytes is a GraphQL Int, so no Speckle
# server can announce a limit of 2 GiB or more. Needs /usr/bin/time (Debian package time).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
WORK=$(mktemp -d)
trap 'kill $SANDBOX 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN/speckle-uploader" sandbox --port 3996 --flavor fileimport --blob-limit-mb 2047 --processing-seconds 0.5 \
  --data-dir "$WORK/blobs" 2>/dev/null &
SANDBOX=$!
sleep 2
export SPECKLE_TOKEN=sandbox-demo-token
PROJECT=$("$BIN/speckle-uploader" projects --server http://127.0.0.1:3996 --search riverside | cut -d' ' -f1)
"$BIN/python" - "$WORK" <<'PY'
import sys
from pathlib import Path
src = Path("resources/samples/simple-wall.ifc").read_bytes()
head, tail = src.split(b"ENDSEC;\nEND-ISO")
end = b"*/\nENDSEC;\nEND-ISO" + tail
for name, size in (("m100.ifc", 100 * 1024**2), ("m2000.ifc", 2000 * 1024**2)):
    with open(Path(sys.argv[1]) / name, "wb") as f:  # sparse: the padding reads back as zero bytes
        f.write(head + b"/*")
        f.truncate(size - len(end))
        f.seek(size - len(end))
        f.write(end)
PY
for name in m100 m2000; do
  /usr/bin/time -f "$name.ifc: peak RSS %M kB, wall %e s, CPU %U+%S s" \
    "$BIN/speckle-uploader" upload --server http://127.0.0.1:3996 --project "$PROJECT" --model memory --json \
    "$WORK/$name.ifc" >/dev/null
done
