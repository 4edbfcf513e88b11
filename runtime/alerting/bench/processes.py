"""Real service processes for one bench case, on free ports, stopped when the case ends.

Built on the dev supervisor (own process groups, output prefixed with the name, the
last lines kept for a death report), plus a readiness wait that fails fast when a
child dies instead of waiting out its timeout.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping, Sequence

import httpx

from alerting.dev import infra
from alerting.dev.supervisor import Supervisor, report_death


class BenchError(RuntimeError):
    """A step could not be measured; the message says which and why."""


class Processes:
    def __init__(self, run_id: str, case: str) -> None:
        self._prefix = f"bench-{run_id}-{case}"
        self._sup = Supervisor(color=False)
        self.urls: dict[str, str] = {}

    async def start(
        self, name: str, env: Mapping[str, str], args: Sequence[str] = (), port: int | None = None
    ) -> str:
        """Start ``alerting <name>``; its base URL. Each process gets its own consumer
        group, so services of one case never rebalance one another."""
        port = port or infra.free_port()
        child_env = {
            **env,
            f"ALERTING_{name.upper().replace('-', '_')}_PORT": str(port),
            "ALERTING_CONSUMER_GROUP": self.group(name),
            "PYTHONUNBUFFERED": "1",
        }
        await self._sup.start(name, [sys.executable, "-m", "alerting", name, *args], child_env)
        url = f"http://127.0.0.1:{port}"
        self.urls[name] = url
        return url

    def group(self, name: str) -> str:
        """Known before the process starts, so its progress can be watched from 0."""
        return f"{self._prefix}-{name}"

    async def wait_ready(self, timeout: float = 90.0, only: Sequence[str] = ()) -> None:
        """Until every process (or those named in ``only``) answers /readyz with 200."""
        pending = {n: u for n, u in self.urls.items() if not only or n in only}
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while pending:
                self.check_alive()
                for name, url in list(pending.items()):
                    try:
                        if (await client.get(f"{url}/readyz")).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise BenchError(f"not ready in {timeout:.0f}s: {', '.join(pending)}")
                await asyncio.sleep(0.2)

    def check_alive(self) -> None:
        for child in self._sup.children:
            if child.process.returncode is not None:
                raise BenchError(report_death(child))

    async def stop(self) -> None:
        await self._sup.stop_all()
