"""`alerting migrate` against real Postgres: idempotent and safe when run twice at once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import create_database, drop_database

pytestmark = pytest.mark.integration

TABLES = {"clients", "rules", "endpoints", "notifications", "deliveries", "rule_outbox", "api_keys"}


@pytest.fixture
def empty_database(postgres_server: str) -> Iterator[str]:
    name = f"alerting_mig_{uuid.uuid4().hex[:8]}"
    dsn = create_database(postgres_server, name)
    try:
        yield dsn
    finally:
        drop_database(postgres_server, name)


def migrate(dsn: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alerting", "migrate", *extra],
        env={**os.environ, "ALERTING_POSTGRES_DSN": dsn},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_two_concurrent_migrations_both_succeed_and_apply_once(empty_database: str) -> None:
    first, second = migrate(empty_database), migrate(empty_database)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0, outputs[0]
    assert second.returncode == 0, outputs[1]
    assert tables(empty_database) >= TABLES
    applied = "".join(out for out, _ in outputs).count("applied: 0001_initial_schema")
    assert applied == 1  # exactly one of the two applied it; the other found it done
    with psycopg.connect(empty_database) as conn:
        count = conn.execute(
            "SELECT count(*) FROM _yoyo_migration WHERE migration_id = '0001_initial_schema'"
        ).fetchone()
    assert count == (1,)


def test_migrate_is_idempotent_and_check_reports_nothing_pending(empty_database: str) -> None:
    assert migrate(empty_database).wait(120) == 0
    again = migrate(empty_database)
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0
    assert "(0 applied)" in out
    check = migrate(empty_database, "--check")
    out, _ = check.communicate(timeout=120)
    assert check.returncode == 0
    assert "0 pending" in out


def test_check_on_an_empty_database_lists_pending_and_fails(empty_database: str) -> None:
    check = migrate(empty_database, "--check")
    out, _ = check.communicate(timeout=120)
    assert check.returncode == 1
    assert "pending: 0001_initial_schema" in out


def test_migrate_creates_a_missing_database(postgres_server: str) -> None:
    name = f"alerting_new_{uuid.uuid4().hex[:8]}"
    try:
        assert migrate(f"{postgres_server}/{name}").wait(120) == 0
        assert tables(f"{postgres_server}/{name}") >= TABLES
    finally:
        drop_database(postgres_server, name)


def test_unreachable_database_is_one_clear_line() -> None:
    proc = migrate("postgresql://postgres@127.0.0.1:1/alerting")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alerting migrate: postgresql://")


def test_schema_enforces_the_dedupe_boundary_and_rule_shape(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO clients (client_id, name) VALUES ('mig-c', 'C')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO rules (rule_id, client_id, severity, source, name)"
                " VALUES (gen_random_uuid(), 'mig-c', '*', '*', '*')"
            )
        insert = (
            "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
            " name, event_ts, rule_ids) VALUES (gen_random_uuid(), 'mig-c', 'a1', 'HIGH', 's',"
            " 'n', now(), ARRAY[gen_random_uuid()])"
        )
        conn.execute(insert)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert)
