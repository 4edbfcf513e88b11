"""Prometheus and Alertmanager processes: started on a given loopback port with a
generated configuration in a directory of their own, waited for (``/-/ready``) and
stopped (SIGTERM, then SIGKILL). Their output goes to a log file whose tail is part of
every error, so a failing test or bench case shows what the peer said.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from alerting.dev import infra
from alerting.peers import packages


@dataclass(frozen=True)
class PeerOptions:
    # debug for tests (a failure shows each alert's path); info for the bench, where a
    # line per aggregation group and flush would cost Alertmanager CPU it is timed on
    log_level: str = "info"
    ready_timeout: float = 30.0


DEFAULTS = PeerOptions()
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(prctl: Any, parent: int) -> None:
    """In the child, before exec: SIGTERM when the process that started it dies.

    A peer runs in a session of its own (a Ctrl-C meant for the tests must not reach
    it), so when its starter is SIGKILLed (an xdist worker killed on timeout) nothing
    else would stop it, and it would keep the worker's ports. Linux only; the signal
    comes when the starting *thread* exits, so peers are started from the thread that
    stops them. If the parent died before prctl took effect, this child stops itself.
    """
    if prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0 or os.getppid() != parent:
        os._exit(1)


def _peer_preexec() -> Any:
    """What ``Popen`` runs in the child, or None where prctl does not exist. libc and
    prctl are looked up here, in the parent: the loader's lock is not safe after fork."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    return lambda: _die_with(prctl, parent)


@dataclass
class Peer:
    name: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return f"({self.name} wrote no log)"
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {self.log_path}\n" + "\n".join(tail)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            infra.terminate_group(self.process, timeout)


def write_config(path: Path, config: Mapping[str, Any]) -> Path:
    """JSON is YAML: no YAML writer needed, and no quoting surprises in label values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def _start(
    name: str,
    storage_flag: str,
    config: Mapping[str, Any],
    directory: Path,
    port: int,
    options: PeerOptions,
    flags: Sequence[str],
) -> Peer:
    """Write ``<name>.yml``, start the binary on it (data under ``directory/data``),
    and wait until it is ready; a peer that never gets ready is stopped."""
    config_path = write_config(directory / f"{name}.yml", config)
    argv = [
        packages.binary(packages.PROMETHEUS if name == "prometheus" else packages.ALERTMANAGER),
        f"--config.file={config_path}",
        f"{storage_flag}={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--log.level={options.log_level}",
        *flags,
    ]
    log_path = directory / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - arguments are ours, never a shell
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_peer_preexec(),  # one prctl call, no lock taken after fork
        )
    peer = Peer(name, port, directory, process, log_path)
    try:
        wait_ready(peer, options.ready_timeout)
    except BaseException:
        peer.stop()
        raise
    return peer


def wait_ready(peer: Peer, timeout: float) -> None:
    """Until ``/-/ready`` answers 200; fails at once when the peer exits (a bad flag or
    configuration), else after ``timeout``, with its log tail either way."""
    deadline = time.monotonic() + timeout
    while not _ready(peer):
        if peer.process.poll() is not None:
            problem = f"exited {peer.process.returncode}"
        elif time.monotonic() > deadline:
            problem = f"not ready within {timeout:.0f}s"
        else:
            time.sleep(0.1)
            continue
        raise infra.InfraError(f"{peer.name} {problem}\n{peer.log_tail()}")


def _ready(peer: Peer) -> bool:
    try:
        return httpx.get(f"{peer.url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_alertmanager(
    directory: Path, port: int, config: Mapping[str, Any], options: PeerOptions = DEFAULTS
) -> Peer:
    """No cluster (an empty ``--cluster.listen-address``): one instance, no gossip port."""
    flags = ["--cluster.listen-address="]
    return _start("alertmanager", "--storage.path", config, directory, port, options, flags)


def start_prometheus(
    directory: Path,
    port: int,
    config: Mapping[str, Any],
    rules: Mapping[str, Mapping[str, Any]],
    options: PeerOptions = DEFAULTS,
) -> Peer:
    """``rules``: file name (as ``config``'s ``rule_files`` names it, relative to
    ``directory``) -> its content. Alerts are re-sent every second (the default is a
    minute) and the configuration can be reloaded (``reload``)."""
    for name, content in rules.items():
        write_config(directory / name, content)
    flags = ["--web.enable-lifecycle", "--rules.alert.resend-delay=1s"]
    return _start("prometheus", "--storage.tsdb.path", config, directory, port, options, flags)


def reload(peer: Peer) -> None:
    """Re-read the configuration and rule files (``--web.enable-lifecycle``)."""
    response = httpx.post(f"{peer.url}/-/reload", timeout=10)
    if response.status_code != 200:
        raise infra.InfraError(
            f"{peer.name} refused the reload ({response.status_code}: {response.text[:300]})"
            f"\n{peer.log_tail()}"
        )


def amtool(peer: Peer, *args: str) -> str:
    """Run ``amtool`` against ``peer``; its output. A failure names the command."""
    argv = [packages.binary(packages.AMTOOL), f"--alertmanager.url={peer.url}", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    if done.returncode != 0:
        raise infra.InfraError(
            f"{' '.join(argv[1:])} failed ({done.returncode}): {done.stderr.strip()}"
            f"\n{peer.log_tail()}"
        )
    return done.stdout
