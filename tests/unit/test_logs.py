"""Logging set-up: the libraries' per-request lines stay out of the services' logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from alerting import logs


@pytest.fixture
def restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored")
def test_no_info_line_per_request_or_scrape() -> None:
    """The metrics service scrapes six services every 5 s through httpx, which logs each
    request at INFO: 72 lines a minute of an idle platform."""
    logs.setup("INFO", "text", service="metrics")
    for name in ("httpx", "httpcore", "uvicorn.access", "aiokafka"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    assert logging.getLogger("alerting.metrics").isEnabledFor(logging.INFO)
    handler = logging.getLogger().handlers[0]
    assert any(isinstance(f, logs.LibraryRepeats) for f in handler.filters)
