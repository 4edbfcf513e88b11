"""Real service processes for tests: start `alerting <service>`, wait until ready, stop.

A process is killed when its scope ends, whatever the test did: the scope is a `with`
block (``with ServiceProcess(...) as proc``) or, through the ``service_processes``
fixture, the test. A leaked process would keep consuming the session's topics and
change what later tests see.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from tests.ports import free_port


class ServiceProcess:
    """One `alerting <name>` process on a free port; killed on leaving its `with` block."""

    def __init__(
        self, name: str, env: Mapping[str, str], log_dir: Path, args: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.args = list(args)
        port_var = f"ALERTING_{name.upper().replace('-', '_')}_PORT"
        # A port chosen beforehand (services that must know each other's) is kept.
        self.port = int(env[port_var]) if port_var in env else free_port()
        self.env = {**os.environ, **env, port_var: str(self.port), "PYTHONUNBUFFERED": "1"}
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float | None = 60.0) -> ServiceProcess:
        """Spawn; then wait for /readyz unless ``ready_timeout`` is None."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "alerting", self.name, *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if ready_timeout is not None:
            self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited {self.process.returncode}:\n{self.logs()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready in {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the service's clean shutdown path."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no cleanup."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()


class ServiceProcesses(contextlib.ExitStack):
    """The processes one scope (a test) creates, all killed when it ends."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        self.log_dir = log_dir

    def new(self, name: str, env: Mapping[str, str], args: Sequence[str] = ()) -> ServiceProcess:
        """A process, not yet started: the test decides when and how to wait for it."""
        return self.enter_context(ServiceProcess(name, env, self.log_dir, args))

    def start(self, name: str, env: Mapping[str, str]) -> ServiceProcess:
        """A process, started and ready."""
        return self.new(name, env).start()

    def kill_all(self) -> None:
        """Kill every process now, before the scope ends (say, before the broker they
        use is stopped); processes created later are still killed at the end."""
        self.close()


def alive(pid: int) -> bool:
    """Running, not a zombie no one reaped (a container's init may not reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
