"""The generated peer configurations as the peers' own tools read them: `promtool` and
`amtool` accept them, and `promtool test rules` shows the firing rule fires with its
labels from the first evaluation and the resolving rule yields no alert at all."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from alerting.peers import configs
from alerting.peers.servers import write_config

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("peer_binaries")]

LABELS = {"severity": "critical", "service": "billing"}
ANNOTATIONS = {"summary": "disk almost full"}


def run(*argv: str, cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    write_config(tmp_path / "rules.yml", configs.alert_rule("DiskFull", LABELS, ANNOTATIONS, True))
    config = configs.prometheus("127.0.0.1:8082", "ik_secret", ["rules.yml"])
    write_config(tmp_path / "prometheus.yml", config)
    out = run("promtool", "check", "config", "prometheus.yml", cwd=tmp_path)
    assert "SUCCESS" in out and "1 rules found" in out


@pytest.mark.parametrize("firing", [True, False])
def test_the_rule_fires_from_the_first_evaluation_or_never(tmp_path: Path, firing: bool) -> None:
    rules = configs.alert_rule("DiskFull", LABELS, ANNOTATIONS, firing)
    write_config(tmp_path / "rules.yml", rules)
    expected = [{"exp_labels": LABELS, "exp_annotations": ANNOTATIONS}] if firing else []
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1s",
        "tests": [
            {
                "interval": "1s",
                "input_series": [],
                "alert_rule_test": [
                    {"eval_time": t, "alertname": "DiskFull", "exp_alerts": expected}
                    for t in ("0s", "5s")
                ],
            }
        ],
    }
    write_config(tmp_path / "unit.yml", unit)
    assert "SUCCESS" in run("promtool", "test", "rules", "unit.yml", cwd=tmp_path)


def test_amtool_accepts_the_alertmanager_config(tmp_path: Path) -> None:
    config = configs.alertmanager("http://127.0.0.1:8082/api/v1/integrations/alertmanager", "k")
    write_config(tmp_path / "alertmanager.yml", config)
    out = run("amtool", "check-config", "alertmanager.yml", cwd=tmp_path)
    assert "SUCCESS" in out and "1 receivers" in out
