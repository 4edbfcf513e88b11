"""`alerting dev`: the whole platform on one machine, from one command.

Infrastructure first (reuse what answers, start private Postgres/Redis under the data
dir and a memory-only Tansu broker otherwise), then schema and topics, then every
implemented service and the local sinks as supervised processes. It seeds a demo
tenant, waits for every /readyz, prints how to use it, and on Ctrl-C stops everything
it started, in reverse order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from alerting import codec, config, migrations, roster
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import ensure_topics
from alerting.commands.topics import all_topics
from alerting.config import ConfigError, Settings
from alerting.dev import infra
from alerting.dev.keys import FILE_NAME, dev_secret_keys
from alerting.dev.seed import Demo, seed_demo
from alerting.dev.supervisor import Supervisor, report_death
from alerting.sealed import Keyring

SINK_HTTP_PORT = 8090
DEV_DEFAULTS = {
    "ALERTING_ALLOW_PRIVATE_URLS": "true",  # the sinks live on loopback
    "ALERTING_HTTP_HOST": "127.0.0.1",
    "ALERTING_LOG_FORMAT": "text",
}


def console_env(s: Settings) -> dict[str, str]:
    """Each API on its own port here (one origin behind the gateway in AWS): the console,
    served by rule-service, is told where ingest and metrics are, and they allow its
    origin, as 127.0.0.1 or localhost."""
    ui = s.port("rule-service")
    return {
        "ALERTING_CONSOLE_INGEST_URL": f"http://127.0.0.1:{s.port('ingest')}",
        "ALERTING_CONSOLE_METRICS_URL": f"http://127.0.0.1:{s.port('metrics')}",
        "ALERTING_CORS_ORIGINS": f"http://127.0.0.1:{ui},http://localhost:{ui}",
    }


@dataclass
class Environment:
    env: dict[str, str]
    settings: Settings
    started: list[infra.Started] = field(default_factory=list)
    admin_token_generated: bool = False
    began: float = field(default_factory=time.monotonic)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=Path(".dev"), help="private servers' data (.dev)"
    )
    parser.add_argument(
        "--sink-port", type=int, default=SINK_HTTP_PORT, help="webhook sink port (8090)"
    )
    parser.add_argument(
        "--ready-timeout", type=float, default=60.0, help="seconds to wait for /readyz (60)"
    )
    parser.epilog = (
        "Reads every ALERTING_* setting (see `alerting config --markdown`); it sets\n"
        "ALERTING_ALLOW_PRIVATE_URLS=true and generates ALERTING_ADMIN_TOKEN when unset,\n"
        "and ALERTING_SECRET_KEYS once (kept in <data dir>/secret-keys) when unset.\n"
        "Postgres, Redis and Kafka are used where they answer at the configured addresses."
    )


def running_services() -> list[str]:
    return list(roster.NAMES)


def _prepare(args: argparse.Namespace, progress: infra.Progress, prepared: Environment) -> None:
    env = prepared.env
    data_dir: Path = args.data_dir.resolve()
    settings = prepared.settings

    if not infra.postgres_answers(settings.postgres_dsn) or not infra.redis_answers(
        settings.redis_url
    ):
        infra.ensure_packages(progress)

    if infra.postgres_answers(settings.postgres_dsn):
        progress(f"Postgres: using {config.redact(settings.postgres_dsn)}")
    else:
        parts = urlsplit(settings.postgres_dsn)
        port = parts.port or 5432
        if infra.port_open("127.0.0.1", port):
            port = infra.free_port()
        progress(f"Postgres: starting a private server on 127.0.0.1:{port}")
        prepared.started.append(
            infra.start_postgres(data_dir / "postgres" / "data", port, progress)
        )
        env["ALERTING_POSTGRES_DSN"] = (
            f"postgresql://postgres@127.0.0.1:{port}{parts.path or '/alerting'}"
        )

    if infra.redis_answers(settings.redis_url):
        progress(f"Redis: using {config.redact(settings.redis_url)}")
    else:
        port = urlsplit(settings.redis_url).port or 6379
        if infra.port_open("127.0.0.1", port):
            port = infra.free_port()
        progress(f"Redis: starting a private server on 127.0.0.1:{port}")
        prepared.started.append(infra.start_redis(data_dir / "redis", port))
        env["ALERTING_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"

    host, _, port_text = settings.kafka.bootstrap.split(",")[0].rpartition(":")
    if infra.port_open(host, int(port_text)):
        progress(f"Kafka: using the broker at {settings.kafka.bootstrap}")
    else:
        progress(f"Kafka: starting a Tansu broker (memory only) on 127.0.0.1:{port_text}")
        prepared.started.append(infra.start_tansu(int(port_text), data_dir))
        env["ALERTING_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{port_text}"

    prepared.settings = settings = config.load(env)
    progress("migrating the schema")
    applied = migrations.apply(settings.postgres_dsn)
    progress(f"schema up to date ({len(applied)} migration(s) applied)")
    created = asyncio.run(asyncio.wait_for(ensure_topics(settings.kafka, all_topics(settings)), 60))
    progress(f"topics ready ({len(created)} created)")


async def _wait_ready(
    urls: dict[str, str], sup: Supervisor, timeout: float, stop: asyncio.Event
) -> list[str]:
    """Poll every /readyz until all answer 200; return the names still not ready."""
    pending = dict(urls)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while pending and time.monotonic() < deadline and not stop.is_set():
            for name, url in list(pending.items()):
                try:
                    if (await client.get(url)).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if any(c.process.returncode is not None for c in sup.children):
                break
            await asyncio.sleep(0.3)
    return list(pending)


def evaluator_rules_version(metrics: str) -> float | None:
    """The snapshot version an evaluator's /metrics says it matches with (None: not yet).

    Parsed, not compared as text: versions are unix milliseconds after an empty Redis
    (services/rule_updater/store.py), which the exposition writes as ``1.79e+12``.
    """
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "alerting_evaluator_rules_version":
                return float(sample.value)
    return None


async def _demo_rule_live(s: Settings, demo: Demo, stop: asyncio.Event) -> bool:
    """Until the evaluator matches with a snapshot holding the demo rule, so the curl
    printed next is answered by a notification, not silently matched against nothing."""
    client = redis_adapter.create_client(s)
    keys = redis_adapter.keys(s)
    metrics_url = f"http://127.0.0.1:{s.port('evaluator')}/metrics"
    deadline = time.monotonic() + 30
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline and not stop.is_set():
                data = await client.get(keys.snapshot)
                if isinstance(data, bytes):
                    snapshot = codec.decode_snapshot(data)
                    if any(r.rule_id == demo.rule_id for r in snapshot.rules):
                        metrics = (await http.get(metrics_url)).text
                        if evaluator_rules_version(metrics) == snapshot.version:
                            return True
                await asyncio.sleep(0.2)
    finally:
        await client.aclose()
    return False


def _summary(
    prepared: Environment, services: list[str], demo: Demo, elapsed: float, sink_port: int
) -> str:
    s = prepared.settings
    token = s.require_admin_token()
    lines = [f"\n=== alerting dev is ready ({elapsed:.1f}s) ==="]
    for name in services:
        lines.append(f"  {name:<14} http://127.0.0.1:{s.port(name)}  (/healthz /readyz /metrics)")
    if not services:
        lines.append("  (no platform service is implemented yet in this build)")
    sink = f"http://127.0.0.1:{sink_port}"
    if "rule-service" in services:
        lines.append(
            f"  console        http://127.0.0.1:{s.port('rule-service')}/ui"
            "   (sign in with the admin token or the demo key)"
        )
    lines += [
        f"  webhook sink   {sink}/received   (demo endpoint {demo.webhook_url})",
        f"  SMTP sink      127.0.0.1:{s.smtp.port}   emails at {sink}/emails",
        f"  Postgres       {config.redact(s.postgres_dsn)}",
        f"  Redis          {config.redact(s.redis_url)}",
        f"  Kafka          {s.kafka.bootstrap}",
        "",
        f"Admin token{' (generated)' if prepared.admin_token_generated else ''}: {token}",
        f"Demo client {demo.client_id!r} API key: {demo.api_key}",
        f"Demo rule: severity=HIGH source=payments name=* -> webhook + {demo.email}",
        "",
        "Post an alert:",
        f"  curl -sS -X POST http://127.0.0.1:{s.port('ingest')}/api/v1/alerts \\",
        f"    -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\",
        """    -d '{"severity": "HIGH", "source": "payments", "name": "checkout_errors"}'""",
    ]
    if "ingest" not in services:
        lines.append("  (ingest is not part of this build yet: the command will be refused)")
    lines += [f"Then: curl -sS {sink}/received", "", "Press Ctrl-C to stop everything."]
    return "\n".join(lines)


async def _supervise(args: argparse.Namespace, prepared: Environment) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sup = Supervisor()
    services = running_services()
    exe = [sys.executable, "-m", "alerting"]
    env, s = prepared.env, prepared.settings
    try:
        # Seeded before the services start, so the rule-updater's first reconcile already
        # puts the demo rule into the snapshot the evaluator warms up from.
        conn = await asyncpg.connect(s.postgres_dsn)
        try:
            demo = await seed_demo(
                conn, f"http://127.0.0.1:{args.sink_port}/hooks/demo", Keyring.from_settings(s)
            )
        finally:
            await conn.close()
        sink_argv = ["sinks", "--http-port", str(args.sink_port)]
        await sup.start("sinks", [*exe, *sink_argv, "--smtp-port", str(s.smtp.port)], env)
        for name in services:
            await sup.start(name, [*exe, name], env)
        urls = {"sinks": f"http://127.0.0.1:{args.sink_port}/readyz"}
        urls |= {n: f"http://127.0.0.1:{s.port(n)}/readyz" for n in services}
        not_ready = await _wait_ready(urls, sup, args.ready_timeout, stop)
        dead = [c for c in sup.children if c.process.returncode is not None]
        if dead:
            for child in dead:
                print(report_death(child), file=sys.stderr)
            return 1
        if stop.is_set():
            return 130
        if not_ready:
            print(
                f"not ready after {args.ready_timeout:.0f}s: {', '.join(not_ready)}",
                file=sys.stderr,
            )
            return 1
        if "evaluator" in services and not await _demo_rule_live(s, demo, stop):
            print("the demo rule did not reach the evaluator in 30s", file=sys.stderr)
            return 1
        elapsed = time.monotonic() - prepared.began
        print(_summary(prepared, services, demo, elapsed, args.sink_port), flush=True)

        stopper = asyncio.create_task(stop.wait())
        exited = asyncio.create_task(sup.first_exit())
        await asyncio.wait({stopper, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            stopper.cancel()
            print(report_death(exited.result()), file=sys.stderr)
            return 1
        exited.cancel()
        return 0
    finally:
        print("stopping services...", flush=True)
        await sup.stop_all()


def run(args: argparse.Namespace) -> int:
    progress = infra.Progress()
    env = {**DEV_DEFAULTS, **os.environ}
    generated = False
    if not env.get("ALERTING_ADMIN_TOKEN"):
        env["ALERTING_ADMIN_TOKEN"] = secrets.token_urlsafe(24)
        generated = True
    env["ALERTING_SECRET_KEYS"], new_key = dev_secret_keys(env, args.data_dir.resolve())
    if new_key:
        progress(f"generated the key sealing endpoint secrets: {args.data_dir / FILE_NAME}")
    try:
        env = {**console_env(config.load(env)), **env}
        prepared = Environment(env, config.load(env), admin_token_generated=generated)
    except ConfigError as exc:
        print(f"alerting dev: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        _prepare(args, progress, prepared)
        return asyncio.run(_supervise(args, prepared))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (infra.InfraError, ConfigError, OSError, TimeoutError) as exc:
        print(f"alerting dev: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in reversed(prepared.started):
            progress(f"stopping {server.name} ({server.address})")
            server.stop()
        progress("everything stopped")
