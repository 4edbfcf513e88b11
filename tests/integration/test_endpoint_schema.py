"""Migration 0003: endpoint types are checked by format, not by a list, so a new channel
needs no migration; a webhook still cannot lose its signing secret."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from alerting.channels.base import TYPE_NAME

pytestmark = pytest.mark.integration

ENDPOINT = (
    "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)"
    " VALUES (gen_random_uuid(), %s, %s, 'v', %s) RETURNING endpoint_id"
)
DELIVERY = (
    "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status)"
    " VALUES (%s, gen_random_uuid(), %s, 'SENT')"
)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def rule_and_notification(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[object, object]:
    conn.execute(
        "INSERT INTO clients (client_id, name) VALUES ('schema-c', 'C') ON CONFLICT DO NOTHING"
    )
    rule = conn.execute(
        "INSERT INTO rules (rule_id, client_id, severity, source, name)"
        " VALUES (gen_random_uuid(), 'schema-c', 'HIGH', 's', gen_random_uuid()::text)"
        " RETURNING rule_id"
    ).fetchone()
    notification = conn.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids) VALUES (gen_random_uuid(), 'schema-c',"
        " gen_random_uuid()::text, 'HIGH', 's', 'n', now(), ARRAY[gen_random_uuid()])"
        " RETURNING notification_id"
    ).fetchone()
    assert rule is not None and notification is not None
    return rule[0], notification[0]


@pytest.mark.parametrize("name", ["pagerduty", "ms_teams", "sms2"])
def test_a_new_channel_name_needs_no_migration(
    conn: psycopg.Connection[tuple[object, ...]], name: str
) -> None:
    assert TYPE_NAME.fullmatch(name)
    rule, notification = rule_and_notification(conn)
    conn.execute(ENDPOINT, (rule, name, None))
    conn.execute(ENDPOINT, (rule, f"{name}_signed", "a-secret"))  # any channel may sign
    conn.execute(DELIVERY, (notification, name))


@pytest.mark.parametrize("name", ["Email", "pager-duty", "1x", "", "x" * 33, "a b"])
def test_a_name_outside_the_registrys_format_is_refused(
    conn: psycopg.Connection[tuple[object, ...]], name: str
) -> None:
    assert not TYPE_NAME.fullmatch(name)
    rule, notification = rule_and_notification(conn)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(ENDPOINT, (rule, name, None))
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(DELIVERY, (notification, name))


def test_a_webhook_keeps_its_signing_secret(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    rule, _ = rule_and_notification(conn)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(ENDPOINT, (rule, "webhook", None))
    row = conn.execute(ENDPOINT, (rule, "webhook", "a-secret")).fetchone()
    assert row is not None
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE endpoints SET signing_secret = NULL WHERE endpoint_id = %s", row)
