"""`alerting metrics`: the pipeline overview at ``GET /api/v1/pipeline``.

Consumer groups are the services' default ids (``alerting-<service>``), not
``settings.group_id``: ALERTING_CONSUMER_GROUP replaces every service's group with one
name, which for this process would point all four stages at the same group.
``--group stage=id`` names a group that was configured differently.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Mapping

from prometheus_client import REGISTRY

from alerting import config, roster
from alerting.adapters.api_key_store import PostgresKeyStore
from alerting.adapters.postgres import create_pool, readiness
from alerting.config import Settings
from alerting.runner import run_service
from alerting.services.entry import describe_settings, serve_api
from alerting.services.metrics.app import create_app
from alerting.services.metrics.compute import MeasuredStage
from alerting.services.metrics.exported import PipelineCollector
from alerting.services.metrics.offsets import OffsetReader
from alerting.services.metrics.sampler import Sampler
from alerting.web.auth_guard import FailedAuthGuard
from alerting.web.bearer import bearer_authenticator

NAME = "metrics"
# The report follows an alert down its topics; consumers of any other topic (the rule
# path) come after, in roster order.
ALERT_PATH = ("alerts_new", "alerts_matched", "notifications_ready")
_PIPELINE = sorted(
    roster.CONSUMERS,
    key=lambda s: ALERT_PATH.index(s.consumes) if s.consumes in ALERT_PATH else len(ALERT_PATH),
)
CONSUMERS = tuple(s.name for s in _PIPELINE)


def pipeline_stages(settings: Settings, groups: Mapping[str, str]) -> list[MeasuredStage]:
    """ingest produces to alerts.new; each consuming stage commits on the topic it reads."""
    topics = settings.topics
    stages = [MeasuredStage(roster.INGEST.name, topics.alerts_new)]
    for service in _PIPELINE:
        group = groups.get(service.name, f"alerting-{service.name}")
        stages.append(MeasuredStage(service.name, topics.consumed_by(service), group))
    return stages


def parse_groups(items: list[str]) -> dict[str, str]:
    groups: dict[str, str] = {}
    for item in items:
        stage, sep, group = item.partition("=")
        if not sep or stage not in CONSUMERS or not group.strip():
            raise argparse.ArgumentTypeError(
                f"--group {item!r}: expected STAGE=GROUP with STAGE one of {', '.join(CONSUMERS)}"
            )
        groups[stage] = group.strip()
    return groups


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between samples (default 5)"
    )
    parser.add_argument(
        "--window", type=float, default=60.0, help="seconds rates are averaged over (default 60)"
    )
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="STAGE=GROUP",
        help="consumer group of a stage when not alerting-<stage> (repeatable)",
    )
    describe_settings(parser, NAME)


async def serve_pipeline(
    settings: Settings,
    stop: asyncio.Event,
    *,
    interval_s: float,
    window_s: float,
    groups: Mapping[str, str],
) -> None:
    admin_token = settings.require_admin_token()
    # min_size=0: start (and serve errors) while Postgres is down, connect when it is back.
    pool = await create_pool(settings, min_size=0)
    stages = pipeline_stages(settings, groups)
    watched = [t for s in stages for t in (s.topic, config.Topics.dlq(s.topic))]
    reader = OffsetReader(settings.kafka, watched)
    sampler = Sampler(
        pool=pool,
        reader=reader,
        stages=stages,
        targets=settings.metrics_targets,
        interval_s=interval_s,
        window_s=window_s,
    )
    app = create_app(
        sampler,
        bearer_authenticator(
            admin_token, PostgresKeyStore(pool), FailedAuthGuard(settings.auth_throttle)
        ),
        {"postgres": readiness(pool), "kafka": reader.check},
        settings.cors_origins,
    )
    # Lag, dead letters and states on /metrics too, for Prometheus' alerts and dashboards.
    collector = PipelineCollector(lambda: sampler.latest)
    REGISTRY.register(collector)
    tasks = [
        asyncio.create_task(sampler.run(stop), name="sampler"),
        asyncio.create_task(reader.follow(stop), name="highwater-follower"),
    ]
    try:
        await serve_api(app, settings, NAME, stop)
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await reader.stop()
        await pool.close()
        REGISTRY.unregister(collector)


def run(args: argparse.Namespace) -> int:
    if args.interval <= 0 or args.window <= 0:
        raise SystemExit("alerting metrics: --interval and --window must be positive")
    try:
        groups = parse_groups(args.group)
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"alerting metrics: {exc}") from None

    async def main(settings: Settings, stop: asyncio.Event) -> None:
        await serve_pipeline(
            settings, stop, interval_s=args.interval, window_s=args.window, groups=groups
        )

    return run_service(NAME, main)
