"""The Debian packages the peers come from: found, installed (as root), or explained.

Kept apart from Postgres and Redis (`alerting.dev.infra`): those are needed by
`make dev`, these only by the tests and the bench that run real peers.
"""

from __future__ import annotations

import shutil
import subprocess

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


def ensure(progress: infra.Progress) -> None:
    """Install the packages when a binary is missing: as root on Debian, else say how.

    Without recommends: they would add node-exporter, smartmontools and IPMI tools that
    nothing here runs.
    """
    if not missing():
        return
    if infra.can_apt_install():
        infra.apt_install(PACKAGES, progress, "--no-install-recommends")
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
