"""Every service's /metrics, from the real processes after alerts went through the
whole pipeline, passes `promtool check metrics` (names, help, units, counters ending
in _total), and holds only series the monitoring files are checked against."""

from __future__ import annotations

import re

import pytest

from tests.e2e.faults import start_platform
from tests.e2e.pipeline import Pipeline
from tests.monitoring_support import known_series, promtool
from tests.pipeline_support import eventually

pytestmark = pytest.mark.e2e

_SAMPLE_NAME = re.compile(r"^(alerting_[a-z0-9_]+)", re.MULTILINE)


async def test_every_service_exposition_passes_promtool(
    pipeline: Pipeline, peer_binaries: None, unique: str
) -> None:
    await start_platform(pipeline)
    alerts = [
        {"alert_id": f"{unique}-{i}", "severity": "HIGH", "source": "faults", "name": "n"}
        for i in range(3)
    ]
    await pipeline.post_alerts(alerts)

    async def delivered() -> bool:
        return (await pipeline.status_counts()).get("SENT") == len(alerts)

    await eventually(delivered, what="three notifications SENT")

    async def sampled() -> str:
        text = (await pipeline.http.get(f"{pipeline.url('metrics')}/metrics")).text
        return text if "alerting_pipeline_notifications{" in text else ""

    # The pipeline gauges appear once the metrics service's first round is done.
    await eventually(sampled, what="the pipeline gauges on the metrics service")

    known = known_series()
    for name, proc in pipeline.procs.items():
        text = (await pipeline.http.get(f"{proc.url}/metrics")).text
        assert "alerting_" in text, name
        done = promtool("check", "metrics", stdin=text)
        assert (done.returncode, done.stdout + done.stderr) == (0, ""), name
        unknown = set(_SAMPLE_NAME.findall(text)) - set(known)
        assert unknown == set(), f"{name} exports series the monitoring checks do not know"


def test_promtool_rejects_a_bad_exposition(peer_binaries: None) -> None:
    """The twin: a counter without _total, without help, and a unit not in base units."""
    text = (
        "# HELP alerting_sent Sent.\n"
        "# TYPE alerting_sent counter\n"
        "alerting_sent 1\n"
        "# TYPE alerting_latency_milliseconds gauge\n"
        "alerting_latency_milliseconds 5\n"
    )
    done = promtool("check", "metrics", stdin=text)
    assert done.returncode != 0
    report = done.stdout + done.stderr
    assert 'alerting_sent counter metrics should have "_total" suffix' in report
    assert "alerting_latency_milliseconds no help text" in report
    assert "use base unit" in report
