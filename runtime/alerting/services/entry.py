"""What every service's ``main.py`` shares around its own ``main(settings, stop)``.

The command hooks `alerting <service>` calls (``configure`` lists the settings the
roster says the service reads; ``run`` runs ``main`` under the shared runner) and the
serving of an HTTP API on the service's own port. A service's module says only what is
particular to it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable

from starlette.types import ASGIApp

from alerting import config, roster
from alerting.config import Settings
from alerting.http import serve
from alerting.runner import ServiceMain, run_service

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


def describe_settings(parser: argparse.ArgumentParser, service: str) -> None:
    """Put the settings ``service`` reads (from its roster entry) into its --help."""
    parser.epilog = config.describe(roster.named(service).settings)


def service_command(service: str, main: ServiceMain) -> tuple[Configure, Run]:
    """The ``configure`` and ``run`` of a service without command-line options of its own.

    Looking the name up here, at import, makes a service missing from the roster fail on
    its first `alerting <service> --help` rather than in production.
    """
    entry = roster.named(service)

    def configure(parser: argparse.ArgumentParser) -> None:
        describe_settings(parser, entry.name)

    def run(args: argparse.Namespace) -> int:
        del args  # the service's settings come from the environment, not the command line
        return run_service(entry.name, main)

    return configure, run


async def serve_api(app: ASGIApp, settings: Settings, service: str, stop: asyncio.Event) -> None:
    """Serve an HTTP API on its configured host and port until ``stop`` is set."""
    host, port = settings.http_host, settings.port(service)
    # Logged under the service's own logger (alerting.rule_service, ...), as its module did.
    log = logging.getLogger(f"alerting.{service.replace('-', '_')}")
    log.info("%s listening on http://%s:%d", service, host, port)
    await serve(app, host, port, stop)
