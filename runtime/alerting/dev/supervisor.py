"""Runs the platform's processes side by side, like a tiny process manager.

Each child gets its own session (process group) so a Ctrl-C in the terminal reaches
only the supervisor, which then stops children in order and waits for them. Output
is prefixed with the child's name; the last lines are kept so a child that dies can
be reported with what it said before dying.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TAIL_LINES = 25
_COLORS = ("36", "35", "33", "32", "34", "31", "96", "95", "93")


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    process: asyncio.subprocess.Process
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    pump: asyncio.Task[None] | None = None


class Supervisor:
    def __init__(self, *, color: bool | None = None) -> None:
        self.children: list[Child] = []
        self._color = sys.stdout.isatty() if color is None else color

    def _label(self, name: str) -> str:
        width = max([len(c.name) for c in self.children] + [len(name), 12])
        label = name.ljust(width)
        if not self._color:
            return f"{label} | "
        code = _COLORS[len(self.children) % len(_COLORS)]
        return f"\033[{code}m{label}\033[0m | "

    async def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        child = Child(name, argv, process)
        label = self._label(name)
        child.pump = asyncio.create_task(self._pump(child, label))
        self.children.append(child)
        return child

    async def _pump(self, child: Child, label: str) -> None:
        assert child.process.stdout is not None
        async for raw in child.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            child.tail.append(line)
            print(f"{label}{line}", flush=True)

    async def first_exit(self) -> Child:
        """Wait until any child exits and return it."""
        waits = {asyncio.create_task(c.process.wait()): c for c in self.children}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        child = waits[next(iter(done))]
        if child.pump is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.pump, 2)
        return child

    async def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every child's group (newest first), then SIGKILL what outlives timeout."""
        for child in reversed(self.children):
            _signal_group(child.process.pid, signal.SIGTERM)
        waits = [c.process.wait() for c in self.children]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            for child in self.children:
                if child.process.returncode is None:
                    print(f"{child.name} did not stop in {timeout:.0f}s: killing it", flush=True)
                _signal_group(child.process.pid, signal.SIGKILL)
            await asyncio.gather(*(c.process.wait() for c in self.children))
        for child in self.children:
            # The group may still hold grandchildren after its leader exited.
            _signal_group(child.process.pid, signal.SIGKILL)
            if child.pump is not None:
                child.pump.cancel()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def report_death(child: Child) -> str:
    code = child.process.returncode
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited {code}"
    lines = "\n".join(f"    {line}" for line in child.tail) or "    (no output)"
    return f"service {child.name!r} {how}. Its last log lines:\n{lines}"
