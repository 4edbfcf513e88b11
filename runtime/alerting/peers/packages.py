"""The Debian packages the peers come from: found, installed (as root), or explained.

Kept apart from Postgres and Redis (`alerting.dev.infra`): those are needed by
`make dev`, these only by the tests and the bench that run real peers.

Debian's packages would start their daemons (Prometheus on :9090, Alertmanager on
:9093, scraping and alerting on their own) from the install's maintainer scripts. The
tests and the bench start their own, so the install runs under a ``policy-rc.d`` that
forbids starting services (unless one is already there, e.g. Docker's), and a packaged
daemon an earlier install did start is stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from alerting.dev import infra

PACKAGES = ("prometheus", "prometheus-alertmanager")
PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"  # Debian's name for the alertmanager binary
AMTOOL = "amtool"
BINARIES = (PROMETHEUS, ALERTMANAGER, AMTOOL)


def install_hint() -> str:
    return f"sudo apt-get install -y --no-install-recommends {' '.join(PACKAGES)}"


def missing() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
# invoke-rc.d's protocol: exit 101 means "action forbidden", so no service starts.
NO_SERVICE_STARTS = "#!/bin/sh\n# written by alerting.peers.packages during an install\nexit 101\n"
# How the harness starts a peer (servers._start); a packaged daemon never listens there.
HARNESS_FLAG = "--web.listen-address=127.0.0.1:"


@contextmanager
def no_service_starts(path: Path | None = None) -> Iterator[None]:
    """While installing: a policy-rc.d forbidding every service start, removed
    afterwards, and only if it was ours (an existing one is left as it is)."""
    path = path or POLICY_RC_D
    if path.exists():
        yield
        return
    path.write_text(NO_SERVICE_STARTS)
    path.chmod(0o755)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def is_packaged_daemon(argv: Sequence[str]) -> bool:
    """A packaged Prometheus or Alertmanager (started by its init script or systemd
    unit), not one the harness started: those listen on loopback with our flag."""
    if not argv or os.path.basename(argv[0]) not in (PROMETHEUS, ALERTMANAGER):
        return False
    return not any(arg.startswith(HARNESS_FLAG) for arg in argv[1:])


def packaged_daemons(proc: Path | None = None) -> list[int]:
    """The pids of packaged daemons running on this machine."""
    found = []
    for entry in (proc or Path("/proc")).iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if is_packaged_daemon([arg for arg in argv if arg]):
            found.append(int(entry.name))
    return found


def stop_packaged_daemons(progress: infra.Progress) -> None:
    """SIGTERM to each: they hold :9090 and :9093 and would alert on their own."""
    for pid in packaged_daemons():
        progress(f"stopping the packaged daemon {pid} (an earlier install started it)")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue


def ensure(progress: infra.Progress) -> None:
    """Install the packages when a binary is missing: as root on Debian, else say how.

    Without recommends: they would add node-exporter, smartmontools and IPMI tools that
    nothing here runs. As root, a packaged daemon is stopped whether or not this call
    installed anything (an install before this safeguard may have started one).
    """
    if infra.can_apt_install():
        if missing():
            with no_service_starts():
                infra.apt_install(PACKAGES, progress, "--no-install-recommends")
        stop_packaged_daemons(progress)
    if not missing():
        return
    raise infra.InfraError(
        f"Prometheus and Alertmanager are not installed ({', '.join(missing())} not found)."
        f" Install them with:\n  {install_hint()}"
    )


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise infra.InfraError(f"{name} not found. Install it with:\n  {install_hint()}")
    return found


def version(name: str) -> str:
    """``0.25.0`` from ``<name> --version`` ("alertmanager, version 0.25.0 (branch: ...")."""
    done = subprocess.run(  # noqa: S603 - our binary, no shell
        [binary(name), "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    words = (done.stdout + done.stderr).split()
    return next((words[i + 1] for i, w in enumerate(words[:-1]) if w == "version"), "unknown")
