"""Container health probe: GET the service's own /healthz on 127.0.0.1.

Used by the Dockerfile HEALTHCHECK, the ECS task definitions and docker-compose, so all
three judge health the same way. The port is the service's ALERTING_<SERVICE>_PORT
(default from the service roster). Without an argument the service is read from the
container's main process (`alerting <service>`); one-off tools count as healthy.
Only the standard library: the probe runs every few seconds in every container.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from alerting import roster


def port_of(service: str) -> int | None:
    entry = roster.BY_NAME.get(service)
    if entry is None:
        return None
    return int(os.environ.get(entry.port_setting) or entry.port)


def _main_process_service() -> str | None:
    try:
        argv = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    args = [a.decode() for a in argv if a]
    for i, arg in enumerate(args[:-1]):
        if arg.endswith("alerting"):
            return args[i + 1]
    return None


def probe(service: str, timeout: float = 3.0) -> tuple[bool, str]:
    port = port_of(service)
    if port is None:
        return True, f"{service}: not a long-running service, nothing to probe"
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"{url} -> {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url} -> {exc}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    service = args[0] if args else _main_process_service()
    if service is None:
        print("healthcheck: cannot tell which service this container runs", file=sys.stderr)
        return 1
    ok, detail = probe(service)
    print(detail, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
