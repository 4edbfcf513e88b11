"""A TCP proxy a test can cut: an outage at the connection level for one process.

Stopping the session's Postgres would take it away from every test running beside;
pointing one service process at this proxy instead makes its server go away for that
process only, the way a stopped server does: connections in use are reset and new ones
are refused until ``restore``. It runs on the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``host``:``target_port`` until cut."""

    def __init__(self, host: str, target_port: int) -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0  # chosen when first started, kept across restores
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        """Refuse new connections and reset the open ones, as a stopped server would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def restore(self) -> None:
        await self.start()

    def url(self, url: str) -> str:
        """``url`` (user, password, path and query kept) pointing at this proxy."""
        parts = urlsplit(url)
        credentials, _, _ = parts.netloc.rpartition("@")
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def _forward(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        try:
            server, to_server = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            to_client.transport.abort()
            return
        if self._server is None:  # cut while this connection was being opened
            to_client.transport.abort()
            to_server.transport.abort()
            return
        self._open.update((to_client, to_server))
        try:
            await asyncio.gather(_pipe(client, to_server), _pipe(server, to_client))
        finally:
            self._open.difference_update((to_client, to_server))

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.cut()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until either side closes; then close the sink so its peer sees the end."""
    with contextlib.suppress(OSError):
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    sink.close()
