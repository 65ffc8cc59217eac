"""A fast blob endpoint for throughput measurements: an HTTP/1.1 PUT sink on loopback that discards the
body with large buffers and answers 200 with a non-MD5 ETag (so the client skips its MD5 comparison but
still hashes, as it would against Azure).

    python benchmarks/sink.py 8765
"""

from __future__ import annotations

import asyncio
import sys


class Sink(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""
        self.remaining = -1

    def data_received(self, data: bytes) -> None:
        if self.remaining < 0:
            self.buffer += data
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            self.buffer = b""
            self.remaining = length
            data = rest
        self.remaining -= len(data)
        if self.remaining <= 0:
            self.remaining = -1
            self.transport.write(b'HTTP/1.1 200 OK\r\nETag: "0x8DSINK"\r\nContent-Length: 0\r\n\r\n')  # type: ignore[attr-defined]


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", port, reuse_address=True)
    print(f"sink on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8765))
