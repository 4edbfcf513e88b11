"""Process lifecycle shared by every service: settings, logging, event loop, signals.

A service is an ``async def main(settings, stop)`` that returns when ``stop`` is set.
SIGTERM and SIGINT set ``stop``; a second signal exits at once, for the operator who
really means it. Bad settings print one line naming the variable and exit 2.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from alerting import config, failpoints, logs
from alerting.config import ConfigError, Settings

ServiceMain = Callable[[Settings, asyncio.Event], Awaitable[None]]
log = logging.getLogger("alerting.runner")


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def load_settings_or_exit() -> Settings:
    try:
        return config.load()
    except ConfigError as exc:
        print(f"alerting: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# Youngest-generation collections every 50,000 allocations (Python's default is 700): a
# service's heap holds whole batches in flight, and every pass walks them again. Cyclic
# garbage is still collected, just in fewer, larger passes.
GC_THRESHOLDS = (50_000, 10, 10)


def tune_collector() -> None:
    """For a long-running service: what start-up imported lives as long as the process,
    so it is frozen out of collections; then fewer, larger young collections."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_service(name: str, main: ServiceMain) -> int:
    tune_collector()
    settings = load_settings_or_exit()
    try:
        failpoints.arm(settings.failpoint)
    except ConfigError as exc:
        print(f"alerting {name}: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.setup(settings.log_level, settings.log_format, service=name)
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now", sig.name)
            raise SystemExit(1)
        log.info("%s received: shutting down", sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        loop.run_until_complete(main(settings, stop))
    except ConfigError as exc:
        print(f"alerting {name}: configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    log.info("%s stopped", name)
    return 0
