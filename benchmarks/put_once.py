"""Uploads through the engine's blob PUT, in its own process (one shared httpx.AsyncClient, as the engine
keeps one per server); prints wall seconds, CPU seconds, MB/s and peak RSS as one JSON line.

    python benchmarks/put_once.py http://127.0.0.1:8765/blob FILE... [--concurrency 4] [--md5 on|off]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

import httpx

from speckle_uploader.speckle.blob import CHUNK_SIZE, put_blob


async def main(url: str, files: list[Path], concurrency: int, md5: bool | None, chunk_size: int) -> None:
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        sizes = [path.stat().st_size for path in files]

        async def one(index: int, path: Path) -> None:
            async with slots:
                await put_blob(client, f"{url}/{index}", path, sizes[index], verify_md5=md5, chunk_size=chunk_size)

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(index, path) for index, path in enumerate(files)))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "mbps": sum(sizes) / wall / 1e6,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--md5", choices=["on", "off", "auto"], default="auto")
    parser.add_argument("--chunk-kb", type=int, default=CHUNK_SIZE // 1024)
    args = parser.parse_args()
    verify = {"on": True, "off": False, "auto": None}[args.md5]
    asyncio.run(main(args.url, args.files, args.concurrency, verify, args.chunk_kb * 1024))
