"""The key `make dev` seals endpoint secrets with, kept next to its data.

A key generated afresh on every start (as the admin token is) would leave the secrets
stored by the previous run unopenable, so the sender could not sign for the endpoints
created then. The generated key is written to ``<data dir>/secret-keys`` (mode 0600) and
read back on the next start; ALERTING_SECRET_KEYS from the environment always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from alerting.secret_keys import new_entry

FILE_NAME = "secret-keys"
KEY_ID = "dev"


def dev_secret_keys(environ: dict[str, str], data_dir: Path) -> tuple[str, bool]:
    """ALERTING_SECRET_KEYS for `make dev`, and whether it was generated just now."""
    configured = environ.get("ALERTING_SECRET_KEYS", "").strip()
    if configured:
        return configured, False
    path = data_dir / FILE_NAME
    if path.exists():
        return path.read_text().strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = new_entry(KEY_ID)
    # Created with its final mode: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(keys + "\n")
    return keys, True
