"""Upload to version on upstream's real speckle-server 2.31.14: the app against curl + GraphQL by hand.

    SPECKLE_REALSERVER_ENV=~/.cache/speckle-realserver/env python benchmarks/realserver.py [--runs 1]

Needs the server ../shared/realserver/start.sh runs (its env file names SERVER, TOKEN, PROJECT). For the three
samples and a generated ~50 MB IFC (the simple-wall sample padded with a STEP comment), alternated:
- app: ``speckle-uploader upload --json --model M FILE`` in its own process, wall time from the command's start
  to its exit (interpreter start-up, sign-in with detection, model look-up, PUT, startFileImport, following);
- floor: the same by hand, each step one ``curl``: generateUploadUrl, PUT of the bytes to the presigned URL,
  startFileImport with the ETag, then the FileUpload's convertedStatus polled every 0.1 s until 2 or 3.
Both go to a model created beforehand (one per file and side), so neither pays for creating it. Most of
either figure is the server's IFC worker; the difference is the app's own overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
DEADLINE = 900.0


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def curl_json(url: str, token: str, payload: dict[str, Any]) -> Any:
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "60", "-H", "content-type: application/json",
         "-H", f"authorization: Bearer {token}", "--data-binary", "@-", url],
        input=json.dumps(payload), capture_output=True, text=True, check=True,
    )
    body = json.loads(done.stdout)
    if body.get("errors"):
        raise RuntimeError(body["errors"][0].get("message"))
    return body["data"]


def gql(env: dict[str, str], query: str, variables: dict[str, Any]) -> Any:
    return curl_json(env["SERVER"] + "/graphql", env["TOKEN"], {"query": query, "variables": variables})


def create_model(env: dict[str, str], name: str) -> str:
    data = gql(env, "mutation($i: CreateModelInput!){modelMutations{create(input:$i){id}}}",
               {"i": {"projectId": env["PROJECT"], "name": name}})
    return str(data["modelMutations"]["create"]["id"])


def by_hand(env: dict[str, str], path: Path, model_id: str) -> tuple[float, str]:
    """generateUploadUrl -> curl PUT -> startFileImport -> poll; returns (seconds, final status)."""
    start = time.perf_counter()
    upload = gql(env, "mutation($i: GenerateFileUploadUrlInput!){fileUploadMutations{generateUploadUrl(input:$i)"
                      "{url fileId}}}", {"i": {"projectId": env["PROJECT"], "fileName": path.name}})
    target = upload["fileUploadMutations"]["generateUploadUrl"]
    put = subprocess.run(["curl", "-sS", "--max-time", "600", "-o", "/dev/null", "-D", "-", "-H", "Expect:",
                          "-T", str(path), target["url"]], capture_output=True, text=True, check=True)
    etag = next(line.split(":", 1)[1].strip() for line in put.stdout.splitlines()
                if line.lower().startswith("etag:"))
    started = gql(env, "mutation($i: StartFileImportInput!){fileUploadMutations{startFileImport(input:$i){id}}}",
                  {"i": {"projectId": env["PROJECT"], "modelId": model_id, "fileId": target["fileId"],
                         "etag": etag}})
    upload_id = started["fileUploadMutations"]["startFileImport"]["id"]
    while time.perf_counter() - start < DEADLINE:
        status = gql(env, "query($p:String!,$f:String!){stream(id:$p){fileUpload(id:$f){convertedStatus}}}",
                     {"p": env["PROJECT"], "f": upload_id})["stream"]["fileUpload"]["convertedStatus"]
        if status in (2, 3):
            return time.perf_counter() - start, "success" if status == 2 else "failed"
        time.sleep(0.1)
    return time.perf_counter() - start, "deadline"


def by_app(env: dict[str, str], path: Path, model_name: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "speckle_uploader", "upload", "--server", env["SERVER"], "--project", env["PROJECT"],
         "--model", model_name, "--json", str(path)],
        capture_output=True, text=True, timeout=DEADLINE, env={**os.environ, "SPECKLE_TOKEN": env["TOKEN"]},
        check=False,
    )
    seconds = time.perf_counter() - start
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return seconds, lines[0]["status"] if lines else f"exit {done.returncode}"


def startup_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "speckle_uploader", "--version"], capture_output=True, check=True)
    return time.perf_counter() - start


def padded_ifc(path: Path, size: int) -> Path:
    text = (SAMPLES / "simple-wall.ifc").read_bytes()
    head, tail = text.split(b"ENDSEC;\nEND-ISO-10303-21;")
    padding = max(0, size - len(text) - 5)
    path.write_bytes(head + b"/*" + b" " * padding + b"*/\n" + b"ENDSEC;\nEND-ISO-10303-21;" + tail)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    env_file = os.environ.get("SPECKLE_REALSERVER_ENV")
    if not env_file:
        print("set SPECKLE_REALSERVER_ENV to the env file ../shared/realserver/start.sh writes", file=sys.stderr)
        return 2
    env = read_env(Path(env_file).expanduser())
    folder = Path(tempfile.mkdtemp(prefix="speckle-realbench-"))
    files = [*sorted(SAMPLES.glob("*.ifc")), padded_ifc(folder / "padded-50mb.ifc", 50 * 1024 * 1024)]
    version = gql(env, "{serverInfo{version}}", {})["serverInfo"]["version"]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, {os.cpu_count()} cores, "
          f"speckle-server {version} at {env['SERVER']}, load average {os.getloadavg()[0]:.1f}")
    print(f"app start-up alone (`speckle-uploader --version`): {startup_seconds():.2f} s")
    print("| file | size | app (s) | curl + GraphQL (s) | app overhead (s) |")
    print("|---|---|---|---|---|")
    for run in range(args.runs):
        for path in files:
            tag = secrets.token_hex(3)
            app_model, hand_model = f"bench-app-{path.stem}-{tag}", f"bench-hand-{path.stem}-{tag}"
            create_model(env, app_model)
            hand_id = create_model(env, hand_model)
            results: dict[str, tuple[float, str]] = {}
            for name in ("app", "hand") if run % 2 == 0 else ("hand", "app"):
                results[name] = by_app(env, path, app_model) if name == "app" else by_hand(env, path, hand_id)
            (app_s, app_state), (hand_s, hand_state) = results["app"], results["hand"]
            note = "" if app_state == hand_state == "success" else f" ({app_state} / {hand_state})"
            size = path.stat().st_size
            shown = f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.0f} MiB"
            print(f"| {path.name} | {shown} | {app_s:.2f} | {hand_s:.2f} | "
                  f"{app_s - hand_s:+.2f}{note} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
