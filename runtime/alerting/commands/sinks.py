"""`alerting sinks`: local SMTP and webhook sinks that record and show what they get."""

from __future__ import annotations

import argparse
import asyncio
import logging

from alerting.config import Settings
from alerting.runner import run_service

log = logging.getLogger("alerting.sinks")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--http-port", type=int, default=8090, help="webhook sink port (8090)")
    parser.add_argument("--smtp-port", type=int, default=1025, help="SMTP sink port (1025)")
    parser.epilog = "For development and tests only: it accepts anything, from anyone."


def run(args: argparse.Namespace) -> int:
    # aiosmtpd is a development dependency; the runtime image has no sinks to run.
    from alerting.dev.hook_server import serve_hooks
    from alerting.dev.sinks import Recorder, start_smtp

    async def main(settings: Settings, stop: asyncio.Event) -> None:
        recorder = Recorder()
        smtp = await start_smtp(recorder, args.host, args.smtp_port)
        log.info(
            "sinks: webhooks on http://%s:%d/hooks/<name>, SMTP on %s:%d",
            args.host,
            args.http_port,
            args.host,
            args.smtp_port,
        )
        try:
            await serve_hooks(recorder, args.host, args.http_port, stop)
        finally:
            smtp.close()
            await smtp.wait_closed()

    return run_service("sinks", main)
