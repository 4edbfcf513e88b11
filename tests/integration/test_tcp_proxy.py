"""The test harness's TcpProxy behaves like a stopped server when cut: open connections
are reset, new ones refused, and after ``restore`` the same port forwards again. The
fault suite's broker outage is only as real as this."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with TcpProxy("127.0.0.1", port) as proxy:
        yield proxy
    server.close()


async def _roundtrip(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    await writer.drain()
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
    return reader, writer


async def test_cut_resets_open_connections_refuses_new_ones_and_restore_forwards(
    proxy: TcpProxy,
) -> None:
    reader, writer = await _roundtrip(proxy.port)
    port = proxy.port
    await proxy.cut()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        writer.write(b"more")
        await writer.drain()
        await asyncio.wait_for(reader.readexactly(4), 5)
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await proxy.restore()
    assert proxy.port == port
    _, again = await _roundtrip(proxy.port)
    again.close()
