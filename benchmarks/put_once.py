"""One upload through the engine's blob PUT, in its own process: prints wall seconds, CPU seconds, MB/s.

    python benchmarks/put_once.py http://127.0.0.1:8765/blob FILE
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from pathlib import Path

import httpx

from speckle_uploader.speckle.blob import put_blob


async def main(url: str, path: Path, size: int) -> None:
    async with httpx.AsyncClient() as client:
        started, cpu = time.perf_counter(), time.process_time()
        await put_blob(client, url, path, size)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wall {wall:.3f} cpu {cpu:.3f} mbps {size / wall / 1e6:.0f} peak_rss_mb {peak_mb:.0f}")


if __name__ == "__main__":
    file = Path(sys.argv[2])
    asyncio.run(main(sys.argv[1], file, file.stat().st_size))
