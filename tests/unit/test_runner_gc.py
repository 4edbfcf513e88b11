"""Services run with the collector tuned: start-up objects frozen, fewer young passes."""

from __future__ import annotations

import subprocess
import sys

from alerting.runner import GC_THRESHOLDS

PROBE = (
    "import gc; from alerting.runner import tune_collector; tune_collector();"
    " print(gc.get_freeze_count() > 1000, gc.get_threshold())"
)


def test_tune_collector_freezes_start_up_objects_and_raises_the_threshold() -> None:
    # In a child: freezing is process-wide and would outlive this test.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=1)
    assert out[0] == "True"
    assert out[1].strip() == str(GC_THRESHOLDS)
