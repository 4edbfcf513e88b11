"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alerting.dev import infra
from alerting.peers import packages
from tests.conftest import machine_lock
from tests.e2e.pipeline import Pipeline


@pytest.fixture
async def pipeline(
    base_env: dict[str, str], unique: str, own_database: str, tmp_path: Path
) -> AsyncIterator[Pipeline]:
    p = Pipeline(base_env, unique, own_database, tmp_path)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture(scope="session")
def peer_binaries() -> None:
    """Prometheus and Alertmanager installed (as root, from Debian's packages) once per
    machine: every worker asks at once, one installs, the others find them there."""
    with machine_lock("packages"):
        packages.ensure(infra.Progress("[harness]"))
