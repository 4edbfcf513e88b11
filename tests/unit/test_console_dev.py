"""`make dev` and the console: its URL in the summary, and the cross-origin settings that
let a console on rule-service's port call ingest and metrics on theirs (console_env, used
by `alerting dev` and by the browser tests' platform alike)."""

from __future__ import annotations

from alerting import config
from alerting.dev.main import Environment, _summary, console_env
from alerting.dev.seed import Demo

PORTS = {
    "ALERTING_RULE_SERVICE_PORT": "18081",
    "ALERTING_INGEST_PORT": "18082",
    "ALERTING_METRICS_PORT": "18083",
    "ALERTING_ADMIN_TOKEN": "admin-token-for-the-summary",
}
DEMO = Demo("demo", "rule-1", "alk_demo_key", "http://127.0.0.1:8090/hook/demo", "o@x")


def test_console_env_points_the_console_at_each_api_and_allows_its_origin() -> None:
    env = console_env(config.load(PORTS))
    assert env == {
        "ALERTING_CONSOLE_INGEST_URL": "http://127.0.0.1:18082",
        "ALERTING_CONSOLE_METRICS_URL": "http://127.0.0.1:18083",
        "ALERTING_CORS_ORIGINS": "http://127.0.0.1:18081,http://localhost:18081",
    }
    # The values are valid settings: loading them back changes nothing.
    s = config.load({**PORTS, **env})
    assert s.console_ingest_url == env["ALERTING_CONSOLE_INGEST_URL"]
    assert s.console_metrics_url == env["ALERTING_CONSOLE_METRICS_URL"]
    assert s.cors_origins == ("http://127.0.0.1:18081", "http://localhost:18081")


def test_the_summary_prints_the_console_url_when_rule_service_runs() -> None:
    prepared = Environment(PORTS, config.load(PORTS))
    out = _summary(prepared, ["rule-service", "ingest", "metrics"], DEMO, 1.0, 8090)
    assert "  console        http://127.0.0.1:18081/ui   (sign in with" in out
    # Without rule-service there is no console to point at.
    assert "/ui" not in _summary(prepared, ["ingest"], DEMO, 1.0, 8090)
