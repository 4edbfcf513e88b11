"""Free ports for tests, never the same in two pytest-xdist workers.

``infra.free_port`` asks the kernel for any free port and closes it: fine for one
process, but with several workers on one machine the same number can be handed to two
of them before either binds it, and a port a test holds as "nothing listens here"
(a broker that is down, a refused webhook) can be taken by another worker's server.
Ports from the kernel's ephemeral range can also be taken at any moment as the source
port of an outgoing connection.

So each worker takes its ports from its own block below the ephemeral range, in
order, skipping any port something else holds: within a run a number is reused only
after the worker has gone through its whole block, and never by another worker. The
block starts at a random offset, so two suites run side by side (two checkouts) rarely
walk the same numbers at the same time.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

BLOCK = 800  # ports per worker; a full run takes a few hundred
LOWEST = 10000
# Ports Chromium refuses to connect to (ERR_UNSAFE_PORT; net/base/port_util.cc, those
# above 1024): a service given one is unreachable from the console's browser tests.
# 10080 lies in the first worker's block.
BROWSER_UNSAFE = frozenset(
    {1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667,
     6668, 6669, 6679, 6697, 10080}
)  # fmt: skip
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def worker_index() -> int:
    """0 for gw0 (and when not under xdist), 1 for gw1, ..."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _block() -> range:
    """This worker's ports: the stretch below the ephemeral range cut into blocks;
    with more workers than blocks, blocks are shared (still in order, still checked)."""
    blocks = max(1, (_ephemeral_start() - LOWEST) // BLOCK)
    start = LOWEST + (worker_index() % blocks) * BLOCK
    return range(start, start + BLOCK)


class PortAllocator:
    def __init__(self, ports: Sequence[int], offset: int) -> None:
        self._ports = ports
        self._next = offset % len(ports)
        self._lock = threading.Lock()  # tests start servers from threads too

    def __call__(self) -> int:
        with self._lock:
            for _ in range(len(self._ports)):
                port = self._ports[self._next]
                self._next = (self._next + 1) % len(self._ports)
                if port not in BROWSER_UNSAFE and _bindable(port):
                    return port
        raise RuntimeError(f"no free port left in {self._ports}")


def _bindable(port: int) -> bool:
    """Nothing listens on ``port`` and nothing is connected from it (no SO_REUSEADDR:
    a port still in TIME_WAIT is skipped too)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


free_port = PortAllocator(_block(), random.randrange(BLOCK))
