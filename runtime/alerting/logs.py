"""Structured logging: one JSON object per line, so log pipelines need no parsing rules."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class LibraryRepeats(logging.Filter):
    """The client libraries' own lines, tamed: asyncpg's pool logs a traceback each
    time it fails to reconnect, aiokafka an ERROR per failed connect, aiosmtpd a line
    per command. A record of a logger outside ``alerting`` passes at most once per
    ``every_s`` for the same message (by logger and format string, and for an unexpected
    exception its type and text too, so each library bug still shows, just not once per
    request), and one whose exception is an expected
    outage loses its traceback (the reason is kept on the line). The services' own
    records pass untouched: they log state changes already (``DependencyLog``)."""

    def __init__(
        self,
        expected: Callable[[BaseException], bool],
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._expected = expected
        self._every_s = every_s
        self._clock = clock
        self._passed_at: dict[tuple[str, ...], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "alerting" or record.name.startswith("alerting."):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        expected = exc is not None and self._expected(exc)
        key: tuple[str, ...] = (record.name, str(record.msg))
        if exc is not None and not expected:
            # One format ("Exception in ASGI application") carries every kind of bug: a
            # different error is a different line, or one would hide the other.
            key += (type(exc).__name__, str(exc)[:200])
        now = self._clock()
        passed_at = self._passed_at.get(key)
        if passed_at is not None and now - passed_at < self._every_s:
            return False
        if len(self._passed_at) >= 1000:  # formats are few; a bound all the same
            self._passed_at.clear()
        self._passed_at[key] = now
        if exc is not None and expected:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {reason})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def setup(level: str = "INFO", fmt: str = "json", service: str = "") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        prefix = f"{service} " if service else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {prefix}%(levelname)s %(name)s: %(message)s")
        )
    from alerting.outages import is_outage  # the drivers' errors: only services need them

    handler.addFilter(LibraryRepeats(is_outage))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The client libraries log every reconnect and rebalance step, and httpx every
    # request (the metrics service's scrapes: a line per service every few seconds), at
    # INFO.
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
