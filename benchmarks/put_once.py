"""Uploads through the engine's blob PUT, in its own process (one blob client, as the engine keeps one per
server); prints wall seconds, CPU seconds, MB/s and peak RSS as one JSON line.

    python benchmarks/put_once.py http://127.0.0.1:8765/blob FILE... [--concurrency 4] [--md5 on|off]
    python benchmarks/put_once.py 'http://127.0.0.1:10000/devstoreaccount1/c/b?sv=...&sig=...' FILE \
        --header x-ms-blob-type:BlockBlob

A URL with a query (a presigned or SAS URL) is used as it is, for one file; otherwise file N goes to URL/N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

from speckle_uploader.speckle.blob import CHUNK_SIZE, put_blob
from speckle_uploader.speckle.blob_safety import blob_client


async def main(url: str, files: list[Path], concurrency: int, md5: bool | None, chunk_size: int,
               headers: dict[str, str]) -> None:
    slots = asyncio.Semaphore(concurrency)
    async with blob_client() as client:

        sizes = [path.stat().st_size for path in files]

        async def one(index: int, path: Path) -> None:
            target = url if "?" in url else f"{url}/{index}"
            async with slots:
                await put_blob(client, target, path, sizes[index], verify_md5=md5, chunk_size=chunk_size,
                               headers=headers)

        started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(one(index, path) for index, path in enumerate(files)))
        wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    print(json.dumps({"wall": wall, "cpu": user + system, "user": user, "sys": system,
                      "mbps": sum(sizes) / wall / 1e6,
                      "minor_faults": after.ru_minflt - before.ru_minflt,
                      "switches": (after.ru_nvcsw + after.ru_nivcsw) - (before.ru_nvcsw + before.ru_nivcsw),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--md5", choices=["on", "off", "auto"], default="auto")
    parser.add_argument("--chunk-kb", type=int, default=CHUNK_SIZE // 1024)
    parser.add_argument("--header", action="append", default=[], help="NAME:VALUE, as additionalRequestHeaders")
    args = parser.parse_args()
    verify = {"on": True, "off": False, "auto": None}[args.md5]
    extra = dict(item.split(":", 1) for item in args.header)
    asyncio.run(main(args.url, args.files, args.concurrency, verify, args.chunk_kb * 1024, extra))
