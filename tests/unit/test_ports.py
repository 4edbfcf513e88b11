"""The test harness's port allocator: workers never share a port, nor use ephemeral ones."""

from __future__ import annotations

import socket

import pytest

from tests import ports


def block_of(monkeypatch: pytest.MonkeyPatch, worker: str) -> range:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    return ports._block()


def test_each_worker_has_its_own_block_below_the_ephemeral_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks = [block_of(monkeypatch, f"gw{i}") for i in range(8)]
    for i, block in enumerate(blocks):
        assert block.stop <= ports._ephemeral_start()
        for other in blocks[i + 1 :]:
            assert not set(block) & set(other)


def test_ports_come_in_order_skip_held_ones_and_repeat_only_after_the_whole_block() -> None:
    sockets = [socket.socket() for _ in range(3)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        first, held, last = (s.getsockname()[1] for s in sockets)
        sockets[0].close()
        sockets[2].close()
        allocate = ports.PortAllocator([first, held, last], 0)
        assert [allocate(), allocate()] == [first, last]  # the held one is skipped
        assert allocate() == first  # only once the whole block was handed out
    finally:
        for s in sockets:
            s.close()


def test_a_block_with_everything_held_says_so() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(RuntimeError, match="no free port"):
            ports.PortAllocator([port], 0)()


def test_ports_a_browser_refuses_are_never_handed_out() -> None:
    """A service on 10080 (in the first worker's block) cannot be reached by Chromium
    (ERR_UNSAFE_PORT): the console's tests would wait for it in vain."""
    allocate = ports.PortAllocator(range(10075, 10086), 0)
    handed = {allocate() for _ in range(30)}
    assert 10080 not in handed
    assert handed  # the others still come
