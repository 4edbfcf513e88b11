"""The harness's machine-wide lock: xdist workers installing packages take turns."""

from __future__ import annotations

import tempfile
import threading
import uuid
from pathlib import Path

from tests.conftest import machine_lock


def test_a_second_holder_waits_until_the_first_lets_go() -> None:
    name = f"unit-{uuid.uuid4().hex[:8]}"
    second_has_it = threading.Event()

    def second() -> None:
        with machine_lock(name):
            second_has_it.set()

    try:
        with machine_lock(name):
            thread = threading.Thread(target=second, daemon=True)
            thread.start()
            thread.join(0.5)
            assert not second_has_it.is_set()
        assert second_has_it.wait(30)
        thread.join(30)
    finally:
        (Path(tempfile.gettempdir()) / f"alerting-tests-{name}.lock").unlink(missing_ok=True)
