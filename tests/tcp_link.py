"""A TCP link to a real server that a test can cut and mend: what a dependency stopping
and starting again looks like to its clients, without stopping the shared server.

While cut, the open connections are closed and new ones are refused (the listening
socket is closed); mended, it listens on the same port again and forwards as before.
Not a test module.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from alerting.dev.infra import free_port


class TcpLink:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.connections = 0  # accepted while up, for the test to see the link was used
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    async def mend(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.close()
        self._open.clear()

    async def close(self) -> None:
        await self.cut()
        pumps = set(self._pumps)
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._open |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, RuntimeError):
            pass  # the other side (or a cut) closed it
        finally:
            sink.close()
            self._open.discard(sink)


@contextlib.asynccontextmanager
async def tcp_link(upstream_host: str, upstream_port: int) -> AsyncIterator[TcpLink]:
    link = TcpLink(upstream_host, upstream_port)
    await link.mend()
    try:
        yield link
    finally:
        await link.close()
