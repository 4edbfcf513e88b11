"""The browser the console tests drive: Debian's Chromium through Playwright for Python.

Playwright's own browser download is never used (it would fetch at test time); the
harness installs Debian's ``chromium`` package when it is missing and we are root, as it
does for Postgres and Prometheus, and otherwise says how.
"""

from __future__ import annotations

import os
from pathlib import Path

from alerting.dev import infra

# Another Chromium build (GitHub's Ubuntu runners: their Chrome) may be named instead;
# only the default is installed by the harness.
DEFAULT = "/usr/bin/chromium"
CHROMIUM = os.environ.get("ALERTING_TEST_CHROMIUM", DEFAULT)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Where the tests leave a PNG of each view (docs/console.md shows copies of them).
RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "console"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def ensure_chromium(progress: infra.Progress) -> str:
    if not Path(CHROMIUM).exists() and CHROMIUM == DEFAULT and infra.can_apt_install():
        infra.apt_install(["chromium"], progress, "--no-install-recommends")
    if not Path(CHROMIUM).exists():
        hint = "sudo apt-get install --no-install-recommends chromium"
        raise infra.InfraError(f"{CHROMIUM} not found. Install it with:\n  {hint}")
    return CHROMIUM


def screenshot_path(name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / f"{name}.png"
