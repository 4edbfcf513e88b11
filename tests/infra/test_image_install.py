"""Install the package exactly as the Dockerfile's builder stage does, then run every command.

The image cannot be built here (no Docker engine), so this replays the builder stage:
its COPY steps copy the same paths into a scratch build directory and its RUN steps run
verbatim under `sh`, with $VENV pointing at a fresh virtualenv instead of /opt/venv.
Then every `alerting <command> --help` must work from that virtualenv, which catches a
command importing a dependency the image does not install (dev or infra groups).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from alerting.cli import COMMANDS
from alerting.console import site as console_site

REPO = Path(__file__).resolve().parents[2]


def builder_steps() -> list[tuple[str, str]]:
    """(instruction, argument) of the first stage, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    steps: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction == "FROM" and steps:
            break
        steps.append((instruction.upper(), argument.strip()))
    return steps


def test_dockerfile_shape() -> None:
    text = (REPO / "Dockerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert stages == ["FROM python:3.11-slim AS builder", "FROM python:3.11-slim"]
    final = text.split(stages[1], 1)[1]
    assert "USER 10001:10001" in final and "HEALTHCHECK" in final
    assert 'ENTRYPOINT ["alerting"]' in final


def test_install_like_the_dockerfile_and_run_every_command(tmp_path: Path) -> None:
    src, venv, bin_dir = tmp_path / "src", tmp_path / "venv", tmp_path / "bin"
    src.mkdir()
    bin_dir.mkdir()
    # `python` in the RUN lines is the image's interpreter: here, this test's base Python.
    (bin_dir / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
    # `make` installs uv into ~/.local/bin when it is missing, which need not be on PATH.
    local_uv = Path.home() / ".local" / "bin" / "uv"
    uv = shutil.which("uv") or (str(local_uv) if local_uv.exists() else None)
    assert uv, "uv is needed to replay the Dockerfile (it is copied into the builder image)"
    # The caller's environment stays: it carries this machine's proxy and CA settings.
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{Path(uv).parent}:/usr/bin:/bin",
        "VENV": str(venv),
        "UV_LINK_MODE": "copy",
        "UV_COMPILE_BYTECODE": "0",  # the image compiles; here it only costs time
    }
    ran = []
    for instruction, argument in builder_steps():
        if instruction == "COPY":
            if argument.startswith("--from="):
                continue  # the uv binary; this machine's uv stands in for it
            *sources, _dest = shlex.split(argument)
            for name in sources:
                path = REPO / name
                target = src / name
                if path.is_dir():
                    shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(path, target)
        elif instruction == "RUN":
            done = subprocess.run(
                ["sh", "-c", argument],
                cwd=src,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, f"RUN {argument}\n{done.stdout}\n{done.stderr}"
            ran.append(argument)
        else:
            assert instruction in {"FROM", "ENV", "WORKDIR"}, f"unhandled {instruction}"
    assert len(ran) == 3

    requirements = (src / "requirements.txt").read_text()
    for excluded in ("pulumi", "boto3", "moto", "pytest", "ruff"):
        assert f"\n{excluded}==" not in requirements, f"{excluded} would ship in the image"

    alerting = venv / "bin" / "alerting"
    clean_env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    failures = {}
    for command in COMMANDS:
        done = subprocess.run(
            [str(alerting), command.name, "--help"],
            env=clean_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0 or "usage: alerting" not in done.stdout:
            failures[command.name] = done.stderr.strip().splitlines()[-1:]
    assert not failures, f"commands broken in the image: {failures}"
    # The wheel carries the migrations, and the health probe runs from the image.
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert any((site / "alerting" / "_migrations").iterdir())
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "alerting.deploy.healthcheck", "migrate"],
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr

    # The console's files ship in the package, byte for byte, and rule-service's loader
    # finds every one of them there (it serves from the package, never from a checkout).
    ours = REPO / "runtime/alerting/console/static"
    wanted = sorted(
        p.relative_to(ours).as_posix()
        for p in ours.rglob("*")
        if p.is_file() and p.suffix in console_site.SERVED
    )
    assert "app.js" in wanted and "vendor/preact.mjs" in wanted
    shipped = site / "alerting" / "console" / "static"
    for name in wanted:
        assert (shipped / name).read_bytes() == (ours / name).read_bytes(), name
    listing = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from alerting.console import site as s;"
            "print(*sorted(s._load(s.STATIC, s.ConsoleConfig())), sep='\\n')",
        ],
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.split() == sorted([*wanted, "config.json"])
