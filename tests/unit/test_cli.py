from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

import pytest

from alerting import cli, config, roster


def alerting(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alerting", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_top_level_help_lists_every_command() -> None:
    done = alerting("--help")
    assert done.returncode == 0
    for command in cli.COMMANDS:
        assert command.name in done.stdout


@pytest.mark.parametrize("name", [c.name for c in cli.COMMANDS])
def test_every_command_has_help(name: str) -> None:
    done = alerting(name, "--help")
    assert done.returncode == 0, done.stderr
    assert f"alerting {name}" in done.stdout


@pytest.mark.parametrize("name", ["migrate", "topics"])
def test_tool_help_names_the_settings_it_reads(name: str) -> None:
    out = alerting(name, "--help").stdout
    assert "settings (environment variables):" in out
    assert "ALERTING_" in out


def test_unknown_command_is_refused() -> None:
    done = alerting("frobnicate")
    assert done.returncode == 2
    assert "unknown command 'frobnicate'" in done.stderr


def test_bad_setting_stops_a_command_with_one_clear_line() -> None:
    done = alerting("migrate", env={"ALERTING_KAFKA_PARTITIONS": "lots"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "alerting: configuration error: ALERTING_KAFKA_PARTITIONS='lots' is not an integer"
    ]


def test_every_roster_service_is_a_command_running_its_module() -> None:
    commands = {c.name: c for c in cli.COMMANDS}
    for service in roster.SERVICES:
        assert commands[service.name] == cli.Command(service.name, service.module, service.summary)
    assert len(commands) == len(cli.COMMANDS), "a tool and a service share a name"


@pytest.mark.parametrize("service", roster.SERVICES, ids=roster.NAMES)
def test_service_help_lists_the_settings_its_roster_entry_reads(service: roster.Service) -> None:
    module: cli.CommandModule = importlib.import_module(service.module)
    parser = argparse.ArgumentParser()
    module.configure(parser)
    listed = {line.split()[0] for line in (parser.epilog or "").splitlines()[1:]}
    assert listed == set(config.expand(service.settings))
