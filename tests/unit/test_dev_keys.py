"""`make dev`'s sealing key: generated once, kept with its data, never readable by others;
a configured ALERTING_SECRET_KEYS wins."""

from __future__ import annotations

import stat
from pathlib import Path

from alerting import config, secret_keys
from alerting.dev.keys import FILE_NAME, dev_secret_keys


def test_a_generated_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "dev"
    keys, generated = dev_secret_keys({}, data_dir)
    assert generated
    (key,) = config.load({"ALERTING_SECRET_KEYS": keys}).require_secret_keys()
    assert key.key_id == "dev" and len(key.key) == secret_keys.KEY_BYTES
    assert stat.S_IMODE((data_dir / FILE_NAME).stat().st_mode) == 0o600
    # The next start opens what the previous one sealed: the same key, not a new one.
    assert dev_secret_keys({}, data_dir) == (keys, False)


def test_configured_keys_win_and_nothing_is_written(tmp_path: Path) -> None:
    configured = "mine:" + "A" * 43 + "="
    assert dev_secret_keys({"ALERTING_SECRET_KEYS": configured}, tmp_path) == (configured, False)
    assert not (tmp_path / FILE_NAME).exists()
