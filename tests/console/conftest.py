"""Fixtures of the console's browser tests (tests/console/console.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from alerting import config
from alerting.dev import infra
from alerting.dev.main import console_env
from tests.conftest import machine_lock
from tests.console.browser import DESKTOP, FLAGS, ensure_chromium
from tests.console.console import WAIT_MS, Console
from tests.e2e.pipeline import DATA_PLANE, Pipeline
from tests.ports import free_port


def port_var(service: str) -> str:
    return f"ALERTING_{service.upper().replace('-', '_')}_PORT"


@pytest.fixture(scope="session")
def chromium() -> str:
    with machine_lock("packages"):
        return ensure_chromium(infra.Progress("[harness]"))


@pytest.fixture
def console_settings() -> dict[str, str]:
    """Settings a test module needs besides the test defaults (tests/e2e/pipeline.py):
    override this fixture in the module, e.g. a low ALERTING_SENDER_MAX_ATTEMPTS."""
    return {}


@pytest.fixture
async def console(
    chromium: str,
    base_env: dict[str, str],
    unique: str,
    own_database: str,
    tmp_path: Path,
    console_settings: dict[str, str],
) -> AsyncIterator[Console]:
    """The platform with the metrics service, the console's cross-origin settings as
    ``make dev`` sets them, and a fresh browser page (no stored token)."""
    pipeline = Pipeline(base_env, unique, own_database, tmp_path, **console_settings)
    # The console is told where ingest and metrics listen, they allow its origin and
    # metrics scrapes every service: each port is chosen before any service starts.
    services = (*DATA_PLANE, "metrics")
    pipeline.env.update({port_var(name): str(free_port()) for name in services})
    pipeline.settings = config.load(pipeline.env)
    pipeline.env.update(console_env(pipeline.settings))
    try:
        await pipeline.start(*DATA_PLANE, "metrics")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=list(FLAGS))
            try:
                context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
                context.set_default_timeout(WAIT_MS)
                page = await context.new_page()
                c = Console(pipeline, page)
                c.watch()
                yield c
                c.check_clean()
            finally:
                await browser.close()
    finally:
        await pipeline.close()
