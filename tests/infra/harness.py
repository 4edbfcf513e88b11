"""Build the real Pulumi program under `pulumi.runtime.set_mocks`.

The known traps, handled here once: each build runs on its own fresh event loop, the
program is declared inside the `@pulumi.runtime.test` function, `preview=False` (with
preview, `apply` bodies are skipped and assertions silently pass), and every export is
awaited, after which `run_pulumi_func` has also waited for every registration, so what
the mocks recorded is complete.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from stack import config as stack_config  # noqa: E402
from stack import program as program_module  # noqa: E402

# Test-only secret values: distinctive, so a leak into any task definition is detectable.
SECRETS = {
    "alerting:adminToken": "admin-token-SENTINEL-0123456789abcdef",
    "alerting:redisAuthToken": "redis-token-SENTINEL-0123456789abcdef",
    "alerting:smtpPassword": "smtp-password-SENTINEL-0123456789",
    # base64 of the 32 bytes "keyring-SENTINEL-0123456789abcde"
    "alerting:secretKeys": "prod1:a2V5cmluZy1TRU5USU5FTC0wMTIzNDU2Nzg5YWJjZGU=",
}


@dataclass
class Recorded:
    """One resource as the mocks saw it: camelCase inputs, and the outputs returned."""

    typ: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


def prod_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Pulumi.prod.yaml's `config:` section, with optional per-key replacements."""
    raw = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())["config"]
    raw.update(overrides or {})
    return raw


def _as_config_strings(raw: Mapping[str, Any]) -> dict[str, str]:
    """What the Pulumi CLI hands the program: scalars as text, structures as JSON."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value)
    return out


def run_entry_point(mocks: pulumi.runtime.Mocks, raw_config: Mapping[str, Any]) -> None:
    """Execute `stack/` the way the Pulumi language host does (its `__main__.py`)."""
    _run(mocks, raw_config, lambda: runpy.run_path(str(REPO / "stack"), run_name="__main__"))


def build_stack(mocks: pulumi.runtime.Mocks, raw_config: Mapping[str, Any]) -> dict[str, Any]:
    """Run the program against `mocks`; return the resolved stack exports."""
    exports: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        cfg, secrets = stack_config.load()
        outputs = program_module.build(cfg, secrets)
        return pulumi.Output.all(**outputs).apply(exports.update)

    _run(mocks, raw_config, program)
    return exports


def _run(
    mocks: pulumi.runtime.Mocks, raw_config: Mapping[str, Any], program: Callable[[], Any]
) -> None:
    config = _as_config_strings(raw_config) | SECRETS
    pulumi.runtime.set_all_config(config, list(SECRETS))
    previous = _current_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(mocks, project="alerting", stack="prod", preview=False)
        pulumi.runtime.test(program)()
    finally:
        loop.close()
        asyncio.set_event_loop(previous)


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread (pytest-asyncio's session loop), to restore after."""
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return None
