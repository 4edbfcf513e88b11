"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.peers import Peers
from tests.e2e.pipeline import Pipeline, running


@pytest.fixture
async def pipeline(
    base_env: dict[str, str], unique: str, own_database: str, tmp_path: Path
) -> AsyncIterator[Pipeline]:
    async with running(base_env, unique, own_database, tmp_path) as p:
        yield p


@pytest.fixture
def peers(peer_binaries: None, tmp_path: Path) -> Iterator[Peers]:
    """Real Prometheus and Alertmanager processes for one test (see tests/e2e/peers.py)."""
    started = Peers(tmp_path / "peers")
    try:
        yield started
    finally:
        started.close()
