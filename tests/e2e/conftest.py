"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
