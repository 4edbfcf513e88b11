"""What the peers are told: Prometheus names ingest as its Alertmanager (API v2, bearer
token, no path prefix), Alertmanager sends each alert alone, firing and resolved."""

from __future__ import annotations

import json

from alerting.peers import configs


def test_prometheus_sends_to_ingest_over_api_v2_with_the_key() -> None:
    config = configs.prometheus("127.0.0.1:8082", "ik_secret", ["rules.yml"])
    [target] = config["alerting"]["alertmanagers"]
    assert target["api_version"] == "v2"
    assert target["path_prefix"] == ""
    assert target["authorization"] == {"credentials": "ik_secret"}
    assert target["static_configs"] == [{"targets": ["127.0.0.1:8082"]}]
    assert config["rule_files"] == ["rules.yml"]
    assert config["global"]["evaluation_interval"] == "1s"


def test_an_alert_rule_fires_or_never_does_with_its_labels() -> None:
    firing = configs.alert_rule("DiskFull", {"severity": "critical"}, {"summary": "s"}, True)
    quiet = configs.alert_rule("DiskFull", {"severity": "critical"}, {"summary": "s"}, False)
    [[rule]] = [g["rules"] for g in firing["groups"]]
    assert rule["alert"] == "DiskFull" and rule["labels"] == {"severity": "critical"}
    assert rule["expr"] == configs.FIRING_EXPR
    assert quiet["groups"][0]["rules"][0]["expr"] == configs.NOT_FIRING_EXPR


def test_alertmanager_sends_each_alert_alone_at_once_with_resolved() -> None:
    config = configs.alertmanager("http://127.0.0.1:1/hook", "tok", group_interval="2s")
    route = config["route"]
    assert route["group_by"] == ["..."] and route["group_wait"] == "0s"
    assert route["group_interval"] == "2s"
    [webhook] = config["receivers"][0]["webhook_configs"]
    assert webhook["send_resolved"] is True
    assert webhook["http_config"] == {"authorization": {"credentials": "tok"}}
    no_auth = configs.alertmanager("http://127.0.0.1:1/hook", None, send_resolved=False)
    [quiet] = no_auth["receivers"][0]["webhook_configs"]
    assert "http_config" not in quiet
    assert quiet["send_resolved"] is False  # the bench's: firing webhooks only
    json.dumps(config)  # written as JSON (which YAML reads)
