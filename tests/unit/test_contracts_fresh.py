"""The committed generated code must be what `make proto` produces from proto/."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import genproto  # noqa: E402


def test_generated_code_matches_the_proto_files(tmp_path: Path) -> None:
    written = genproto.generate(tmp_path)
    assert written, "no proto file found"
    for fresh in written:
        committed = REPO / "runtime" / fresh.relative_to(tmp_path)
        assert committed.exists(), f"{committed} is missing: run `make proto`"
        assert committed.read_bytes() == fresh.read_bytes(), (
            f"{committed.relative_to(REPO)} is stale: run `make proto` and commit the result"
        )
