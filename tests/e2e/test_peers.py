"""Real Prometheus 2.42 and Alertmanager 0.25 (Debian's packages) sending to the
platform as operators configure them: Prometheus names ingest as its Alertmanager,
Alertmanager names the webhook integration as a receiver. Each alert must reach the
client's webhook once when it fires and once when it resolves, whatever the peer
re-sends, with its labels mapped to name, severity and source; fired again, it opens
the next episode."""

from __future__ import annotations

import datetime as dt

import pytest

from alerting.domain.label_mapping import fingerprint
from alerting.peers import configs, servers
from tests.e2e.peers import Peers, delivered_once, grown, kinds_reach, metric, tenant_hook
from tests.e2e.pipeline import Pipeline

pytestmark = pytest.mark.e2e

RULES_FILE = "alert-rules.yml"


async def test_prometheus_alert_fires_once_resolves_once_and_fires_again(
    pipeline: Pipeline, peers: Peers, unique: str
) -> None:
    alert, service = f"DiskFull{unique}", f"billing-{unique}"
    tenant, hook, key = await tenant_hook(pipeline, f"prom-{unique}", ("CRITICAL", service, alert))
    ingest = pipeline.procs["ingest"]
    config = configs.prometheus(f"127.0.0.1:{ingest.port}", key, [RULES_FILE])
    labels = {"severity": "critical", "service": service, "job": "node"}
    annotations = {"summary": "disk almost full"}
    firing = configs.alert_rule(alert, labels, annotations, firing=True)
    prom = peers.prometheus(config, {RULES_FILE: firing})
    [fired] = await kinds_reach(pipeline, prom, hook, ["firing"])
    body = fired.request["body"]
    assert (body["name"], body["severity"], body["source"]) == (alert, "CRITICAL", service)
    assert body["client_id"] == tenant.client_id
    # every label and annotation is context; the id is Alertmanager's fingerprint
    assert body["context"] | {**labels, **annotations} == body["context"]
    assert fired.alert_id == fingerprint({"alertname": alert, **labels})
    # Prometheus re-sends a firing alert every evaluation past the resend delay
    # (about every 2 s here): three more sends, all through the pipeline, still one.
    sent = "prometheus_notifications_sent_total"
    await grown(pipeline, prom, sent, 3, "Prometheus re-sending the firing alert")
    episode = fired.request["body"]["episode"]
    await delivered_once(pipeline, prom, tenant, hook, fired.alert_id, [(episode, "firing")])

    resolved_rules = configs.alert_rule(alert, labels, annotations, firing=False)
    servers.write_config(prom.directory / RULES_FILE, resolved_rules)
    servers.reload(prom)
    _, resolved = await kinds_reach(pipeline, prom, hook, ["firing", "resolved"])
    assert resolved.alert_id == fired.alert_id
    body = resolved.request["body"]
    assert (body["name"], body["severity"], body["source"]) == (alert, "CRITICAL", service)
    assert body["episode"] == episode
    # A resolved alert is re-sent for 15 minutes: the platform delivers it once.
    await grown(pipeline, prom, sent, 3, "Prometheus re-sending the resolved alert")
    one_episode = [(episode, "firing"), (episode, "resolved")]
    await delivered_once(pipeline, prom, tenant, hook, fired.alert_id, one_episode)

    # Firing again: Prometheus starts a new alert (a later startsAt), the next episode.
    servers.write_config(prom.directory / RULES_FILE, firing)
    servers.reload(prom)
    *_, again = await kinds_reach(pipeline, prom, hook, ["firing", "resolved", "firing"])
    assert again.alert_id == fired.alert_id
    assert again.request["body"]["episode"] == episode + 1
    await grown(pipeline, prom, sent, 3, "Prometheus re-sending the new firing alert")
    both = [*one_episode, (episode + 1, "firing")]
    await delivered_once(pipeline, prom, tenant, hook, fired.alert_id, both)
    # ingest answered every send with a success: Prometheus counted no error
    assert await metric(pipeline, prom.url, "prometheus_notifications_errors_total") == 0


def rfc3339_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_alertmanager_webhook_fires_once_and_resolves_once(
    pipeline: Pipeline, peers: Peers, unique: str
) -> None:
    alert, service = f"QueueBacklog{unique}", f"orders-{unique}"
    tenant, hook, key = await tenant_hook(pipeline, f"am-{unique}", ("MEDIUM", service, alert))
    receiver = f"{pipeline.url('ingest')}/api/v1/integrations/alertmanager"
    # repeat_interval 2 s: Alertmanager notifies the unchanged firing group again and
    # again, as it would after hours; the platform must not deliver those.
    config = configs.alertmanager(receiver, key, group_interval="1s", repeat_interval="2s")
    labels = [f"alertname={alert}", "severity=warning", f"service={service}", "job=queue"]
    am = peers.alertmanager(config)
    servers.amtool(am, "alert", "add", *labels, "--annotation=summary=backlog growing")
    [fired] = await kinds_reach(pipeline, am, hook, ["firing"])
    body = fired.request["body"]
    assert (body["name"], body["severity"], body["source"]) == (alert, "MEDIUM", service)
    assert body["client_id"] == tenant.client_id
    [held] = (await pipeline.http.get(f"{am.url}/api/v2/alerts")).json()
    assert fired.alert_id == held["fingerprint"] == fingerprint(held["labels"])
    assert body["context"]["summary"] == "backlog growing"
    assert body["context"]["job"] == "queue"

    sent = "alertmanager_notifications_total"
    await grown(pipeline, am, sent, 2, "Alertmanager repeating the firing group")
    episode = fired.request["body"]["episode"]
    await delivered_once(pipeline, am, tenant, hook, fired.alert_id, [(episode, "firing")])

    servers.amtool(am, "alert", "add", *labels, f"--end={rfc3339_now()}")
    _, resolved = await kinds_reach(pipeline, am, hook, ["firing", "resolved"])
    assert resolved.alert_id == fired.alert_id
    body = resolved.request["body"]
    assert (body["name"], body["severity"], body["source"]) == (alert, "MEDIUM", service)
    one_episode = [(episode, "firing"), (episode, "resolved")]
    await delivered_once(pipeline, am, tenant, hook, fired.alert_id, one_episode)
    assert await metric(pipeline, am.url, "alertmanager_notifications_failed_total") == 0
