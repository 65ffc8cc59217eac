"""A fast blob endpoint for throughput measurements: an HTTP/1.1 PUT sink on loopback that reads the body
into a 4 MiB buffer and discards it, answering 200 with an Azure-style (non-MD5) ETag. ``--rate`` shapes it
to that many bits per second (token bucket: reading pauses while the sender is ahead of the schedule).

    python benchmarks/sink.py 8765 [--rate 1e9]
"""

from __future__ import annotations

import argparse
import asyncio
import time

BUFFER = 4 * 1024 * 1024
REPLY = b'HTTP/1.1 200 OK\r\nETag: "0x8DSINK"\r\nContent-Length: 0\r\n\r\n'


class Sink(asyncio.BufferedProtocol):
    def __init__(self, bytes_per_second: float | None) -> None:
        self.rate = bytes_per_second
        self.buffer = bytearray(BUFFER)
        self.head = b""
        self.remaining = -1  # body bytes still due; -1 while reading a request head
        self.started = 0.0
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = memoryview(self.buffer)[:nbytes]
        if self.remaining < 0:
            self.head += bytes(data)
            head, sep, rest = self.head.partition(b"\r\n\r\n")
            if not sep:
                return
            self.head = b""
            self.remaining = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
            self.started, self.received = time.perf_counter(), 0
            nbytes = len(rest)
        self.remaining -= nbytes
        self.received += nbytes
        if self.remaining <= 0:
            self.remaining = -1
            self.transport.write(REPLY)
        elif self.rate:
            ahead = self.received / self.rate - (time.perf_counter() - self.started)
            if ahead > 0.001:
                self.transport.pause_reading()
                asyncio.get_running_loop().call_later(ahead, self.transport.resume_reading)


async def main(port: int, bits_per_second: float | None) -> None:
    loop = asyncio.get_running_loop()
    rate = bits_per_second / 8 if bits_per_second else None
    server = await loop.create_server(lambda: Sink(rate), "127.0.0.1", port, reuse_address=True)
    print(f"sink on 127.0.0.1:{port}" + (f" at {bits_per_second:.3g} bit/s" if rate else ""), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int, nargs="?", default=8765)
    parser.add_argument("--rate", type=float, help="bits per second (unshaped when absent)")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.rate))
