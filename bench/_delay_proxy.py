"""A TCP forwarder that delays every chunk by a fixed one-way latency in each direction.

``bench/remote.py`` uses it where the kernel has no ``netem`` queueing discipline (``tc qdisc
add ... netem delay`` fails with "Specified qdisc kind is unknown"): the rate is still shaped
by the kernel (``tbf`` on both ends of the veth pair) and the latency is added here, in the
client's network namespace, between Chromium and the link. Bytes keep their order; a chunk
read at time t is written at t + delay. What this does not model: the latency is outside the
server's TCP congestion window (the proxy reads eagerly), so slow start over a long round
trip is milder than on a real path.

    python bench/_delay_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT ONE_WAY_MS
"""

from __future__ import annotations

import asyncio
import sys
import time


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float) -> None:
    queue: asyncio.Queue = asyncio.Queue()

    async def later() -> None:
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(later())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay_s, chunk))
    except ConnectionError:
        pass
    queue.put_nowait((0.0, None))
    try:
        await sender
    except ConnectionError:
        pass


async def main(listen_port: int, host: str, port: int, delay_ms: float) -> None:
    delay_s = delay_ms / 1000

    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            s_reader, s_writer = await asyncio.open_connection(host, port)
        except OSError:
            c_writer.close()
            return
        await asyncio.gather(pump(c_reader, s_writer, delay_s), pump(s_reader, c_writer, delay_s))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
