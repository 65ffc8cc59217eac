"""Throughput and CPU cost, the engine against curl, side by side in one run (benchmarks/README.md).

    python benchmarks/throughput.py [--runs 5] [--shaped-runs 3] [--many-runs 5] [--skip-many | --only-many]
                                    [--no-pin] [--azurite-runs 3]

Makes a 1 GiB file and 100 files of 5 MiB of random data (kept in $TMPDIR/speckle-bench), warms the page
cache, then against benchmarks/sink.py on loopback:
1. the endpoint alone (a sendfile() client: zero-copy, so what it reaches is the sink's ceiling);
2. 1 GiB unshaped: the engine as for an https:// blob URL (no MD5, TLS vouches for the bytes), the engine as
   for a plain http:// one (MD5 while streaming), and `curl -T -H "Expect:"`, alternated, medians;
3. the same with the sink limited to 1 Gbit/s;
4. 100 files of 5 MiB: the engine at concurrency 1, 2 and 4 against one curl uploading them serially
   (one connection) and curl -Z with 4 in parallel; the engine at 4 is then put beside curl -Z as ratios;
5. 1 GiB to Azure Blob Storage as Azurite emulates it (its blobs on disk in a temporary folder), through a
   SAS URL with ``x-ms-blob-type: BlockBlob``: the engine (no MD5, and MD5 checked against Azure's
   Content-MD5) against `curl -T` with the same header (``--azurite-runs 0`` leaves it out; skipped, saying
   why, without Node.js/npm).
Wall time is the upload alone (the engine reports it from inside its process, curl with %{time_total}).
CPU seconds: the engine's process time across its threads from the start to the end of the uploads (its
interpreter start-up and imports, ~0.12 s, left out as the app pays them once); curl's whole run from
wait4() (its start-up is a few milliseconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GIB = 1024**3
PORT, SHAPED_PORT = 18765, 18766


def make_files() -> tuple[Path, list[Path]]:
    folder = Path(tempfile.gettempdir()) / "speckle-bench"
    folder.mkdir(exist_ok=True)
    big = folder / "one-gib.bin"
    if not big.exists() or big.stat().st_size != GIB:
        with big.open("wb") as handle:
            for _ in range(GIB // (16 << 20)):
                handle.write(os.urandom(16 << 20))
    small = []
    for index in range(100):
        path = folder / f"five-mib-{index:03}.bin"
        if not path.exists():
            path.write_bytes(os.urandom(5 << 20))
        small.append(path)
    for path in [big, *small]:  # warm the page cache
        with path.open("rb") as handle:
            while handle.read(16 << 20):
                pass
    return big, small


CLIENT_CPUS: list[str] = []  # ["taskset", "-c", "0"] unless --no-pin


def run(command: list[str]) -> tuple[str, float]:
    """Run a child; return its stdout and its user+system CPU seconds."""
    child = subprocess.Popen(CLIENT_CPUS + command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{command[0]} failed ({child.returncode})")
    return out, usage.ru_utime + usage.ru_stime


def engine(url: str, files: list[Path], md5: str, concurrency: int = 1,
           headers: dict[str, str] | None = None) -> dict[str, float]:
    extra = [f"--header={name}:{value}" for name, value in (headers or {}).items()]
    out, _process_cpu = run([sys.executable, str(HERE / "put_once.py"), url, *map(str, files), "--md5", md5,
                             "--concurrency", str(concurrency), *extra])
    result = json.loads(out)  # CPU of the uploads themselves, all threads: not the interpreter's start-up
    return {"wall": result["wall"], "cpu": result["cpu"], "rss": result["peak_rss_mb"],
            "faults": result["minor_faults"]}


def curl(url: str, files: list[Path], parallel: int = 0, headers: dict[str, str] | None = None) -> dict[str, float]:
    command = ["curl", "-sS", "--no-progress-meter", "--fail", "-o", "/dev/null", "-H", "Expect:",
               "-w", "%{time_total}\n"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if parallel:
        command += ["-Z", "--parallel-max", str(parallel), "--parallel-immediate"]
    for index, path in enumerate(files):
        command += ["-T", str(path), url if "?" in url else f"{url}/{index}"]
    started = time.perf_counter()
    out, cpu = run(command)
    # serial: the sum of the transfers; parallel: only the whole invocation tells the truth
    wall = time.perf_counter() - started if parallel else sum(float(t) for t in out.split())
    return {"wall": wall, "cpu": cpu, "rss": 0.0}


def endpoint_alone(port: int, path: Path) -> float:
    size = path.stat().st_size
    with socket.create_connection(("127.0.0.1", port)) as sock, path.open("rb") as handle:
        started = time.perf_counter()
        sock.sendall(f"PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendfile(handle)
        sock.recv(1024)
        return size / (time.perf_counter() - started) / 1e6


def start_sink(port: int, rate: float | None, pin: bool) -> subprocess.Popen[str]:
    command = (["taskset", "-c", "1"] if pin else []) + [sys.executable, str(HERE / "sink.py"), str(port)]
    command += ["--rate", str(rate)] if rate else []
    sink = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    sink.stdout.readline()
    return sink


def summarize(name: str, results: list[dict[str, float]], size: int) -> dict[str, float]:
    wall = statistics.median(r["wall"] for r in results)
    cpu = statistics.median(r["cpu"] for r in results)
    row = {"mbps": size / wall / 1e6, "wall": wall, "cpu_per_gib": cpu * GIB / size,
           "rss": max(r["rss"] for r in results)}
    walls = ", ".join(f"{r['wall']:.2f}" for r in results)
    faults = statistics.median(r.get("faults", 0.0) for r in results)
    print(f"  {name:<34} {row['mbps']:7.0f} MB/s  wall {wall:6.2f} s ({walls})  "
          f"CPU {row['cpu_per_gib']:5.2f} s/GiB" + (f"  peak RSS {row['rss']:.0f} MB" if row["rss"] else "")
          + (f"  {faults:.0f} page faults" if faults else ""), flush=True)
    return row


def load() -> str:
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def many_files(port: int, small: list[Path], runs: int) -> None:
    url = f"http://127.0.0.1:{port}/blob"
    print(f"100 files of 5 MiB, unshaped ({load()}):", flush=True)
    total = sum(path.stat().st_size for path in small)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in (
        "engine, concurrency 1", "engine, concurrency 2", "engine, concurrency 4",
        "curl, serial (one connection)", "curl -Z, 4 in parallel")}
    for _ in range(runs):  # alternated, as for 1 GiB
        for concurrency in (1, 2, 4):
            rows[f"engine, concurrency {concurrency}"].append(engine(url, small, "off", concurrency))
        rows["curl, serial (one connection)"].append(curl(url, small))
        rows["curl -Z, 4 in parallel"].append(curl(url, small, parallel=4))
    summary = {name: summarize(name, results, total) for name, results in rows.items()}
    ours, theirs = summary["engine, concurrency 4"], summary["curl -Z, 4 in parallel"]
    print(f"  engine at 4 against curl -Z: {ours['mbps'] / theirs['mbps']:.2f}x the rate, "
          f"{ours['cpu_per_gib'] / theirs['cpu_per_gib']:.2f}x the CPU per GiB ({load()} after)", flush=True)


def one_gib(port: int, big: Path, runs: int, title: str) -> dict[str, dict[str, float]]:
    url = f"http://127.0.0.1:{port}/blob"
    print(title, flush=True)
    results: dict[str, list[dict[str, float]]] = {"engine, https policy (no MD5)": [],
                                                  "engine, http policy (MD5)": [], "curl -T": []}
    for _ in range(runs):  # alternated, so drift in the machine hits all three alike
        results["engine, https policy (no MD5)"].append(engine(url, [big], "off"))
        results["engine, http policy (MD5)"].append(engine(url, [big], "on"))
        results["curl -T"].append(curl(url, [big]))
    return {name: summarize(name, rows, GIB) for name, rows in results.items()}


def azurite_rows(big: Path, runs: int) -> None:
    """1 GiB to Azurite through a SAS URL: the engine and curl with the same x-ms-blob-type header."""
    import asyncio
    import datetime as dt

    from speckle_uploader.sandbox.azure import AzureBlobs
    from speckle_uploader.sandbox.azurite import AZURITE_VERSION, Azurite, AzuriteUnavailableError

    azurite = Azurite(in_memory=False)
    try:
        started = time.perf_counter()
        azurite.start()
    except AzuriteUnavailableError as exc:
        print(f"Azurite row left out: {exc}", flush=True)
        return
    try:
        print(f"1 GiB to Azurite {AZURITE_VERSION} (blobs on disk; started in {time.perf_counter() - started:.1f} s),"
              " SAS URL, x-ms-blob-type: BlockBlob:", flush=True)
        blobs = AzureBlobs(azurite.endpoint, container="bench")
        asyncio.run(blobs.ensure_container())
        url = blobs.sas_url("bench/one-gib.bin", expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=3))
        header = {"x-ms-blob-type": "BlockBlob"}
        names = ("engine, https policy (no MD5)", "engine, http policy (Content-MD5)", "curl -T, same header")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for _ in range(runs):  # alternated, as above
            results[names[0]].append(engine(url, [big], "off", headers=header))
            results[names[1]].append(engine(url, [big], "on", headers=header))
            results[names[2]].append(curl(url, [big], headers=header))
        rows = {name: summarize(name, found, GIB) for name, found in results.items()}
        for name in names[:2]:
            print(f"  {name}: {rows[name]['mbps'] / rows[names[2]]['mbps']:.2f}x curl's rate", flush=True)
    finally:
        azurite.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shaped-runs", type=int, default=3)
    parser.add_argument("--many-runs", type=int, default=5)
    many = parser.add_mutually_exclusive_group()
    many.add_argument("--skip-many", action="store_true")
    many.add_argument("--only-many", action="store_true", help="only the 100 files of 5 MiB")
    parser.add_argument("--skip-sink", action="store_true", help="only the Azurite rows")
    parser.add_argument("--azurite-runs", type=int, default=3)
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the scheduler place everything (default: the endpoint on CPU 1, as a remote "
                             "server would be, the uploaders on CPU 0; steadier figures on a 2-core machine)")
    args = parser.parse_args()
    if args.pin:
        CLIENT_CPUS.extend(["taskset", "-c", "0"])
    print(f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}"
          f" · {time.strftime('%Y-%m-%d %H:%M')} · {load()}", flush=True)
    big, small = make_files()
    if args.skip_sink:
        azurite_rows(big, args.azurite_runs)
        return
    sink, shaped = start_sink(PORT, None, args.pin), start_sink(SHAPED_PORT, 1e9, args.pin)
    try:
        if not args.only_many:
            one_gib_runs(big, args.runs, args.shaped_runs)
        if not args.skip_many:
            many_files(PORT, small, args.many_runs)
    finally:
        sink.terminate()
        shaped.terminate()
    if args.azurite_runs and not args.only_many:
        azurite_rows(big, args.azurite_runs)


def one_gib_runs(big: Path, runs: int, shaped_runs: int) -> None:
    alone = statistics.median(endpoint_alone(PORT, big) for _ in range(3))
    print(f"endpoint alone (sendfile client): {alone:.0f} MB/s", flush=True)
    unshaped = one_gib(PORT, big, runs, "1 GiB, unshaped:")
    curl_row = unshaped["curl -T"]
    for name in ("engine, https policy (no MD5)", "engine, http policy (MD5)"):
        row = unshaped[name]
        print(f"  {name}: {row['mbps'] / curl_row['mbps']:.2f}x curl's rate, "
              f"{row['cpu_per_gib'] / curl_row['cpu_per_gib']:.2f}x curl's CPU per GiB")
    limited = one_gib(SHAPED_PORT, big, shaped_runs, "1 GiB, endpoint limited to 1 Gbit/s:")
    for name in ("engine, https policy (no MD5)", "engine, http policy (MD5)"):
        print(f"  {name}: wall {limited[name]['wall'] / limited['curl -T']['wall']:.3f}x curl's")


if __name__ == "__main__":
    main()
