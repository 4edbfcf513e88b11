"""The rule-service's match query agrees with the one definition of a match.

``repo.rules.matching`` spells "every field is the alert's value or ``*``" in SQL so
Postgres can filter; ``alerting.domain.patterns`` is the definition the evaluator's
index and the ``/match`` explanation are built on. Exhaustive over a small alphabet that
includes the traps (case, trailing space, two encodings of one letter, an alert value
that is itself ``*``): every rule shape against every alert, against real Postgres.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
import uuid
from typing import Any

import asyncpg
import pytest

from alerting.domain.model import WILDCARD, MatchingRule
from alerting.domain.patterns import explain, rule_matches
from alerting.services.rule_service.repo import rules as repo
from tests.integration.rule_service_support import *  # noqa: F403

pytestmark = pytest.mark.integration

SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
CAFE = "caf\u00e9"
SOURCES = ["db", "DB", "db ", CAFE, unicodedata.normalize("NFD", CAFE)]
NAMES = ["cpu", "Cpu", "disk"]


async def insert_rules(pool: asyncpg.Pool[Any], client_id: str) -> list[MatchingRule]:
    """Every rule shape over the alphabet (the schema forbids all three wildcards); about
    a third disabled, which the query must leave out."""
    rng = random.Random(12)
    await pool.execute("INSERT INTO clients (client_id, name) VALUES ($1, 'T')", client_id)
    enabled: list[MatchingRule] = []
    for fields in itertools.product(
        [*SEVERITIES, WILDCARD], [*SOURCES, WILDCARD], [*NAMES, WILDCARD]
    ):
        if all(field == WILDCARD for field in fields):
            continue
        rule = MatchingRule(str(uuid.uuid4()), client_id, *fields)
        on = rng.random() < 0.7
        await pool.execute(
            "INSERT INTO rules (rule_id, client_id, severity, source, name, enabled)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            uuid.UUID(rule.rule_id),
            client_id,
            *fields,
            on,
        )
        if on:
            enabled.append(rule)
    return enabled


async def test_the_match_query_returns_exactly_the_rules_the_definition_matches(
    rule_pool: asyncpg.Pool[Any],
) -> None:
    client_id = f"m-{uuid.uuid4().hex[:10]}"
    enabled = await insert_rules(rule_pool, client_id)
    matched_somewhere: set[str] = set()
    unmatched_alerts = 0
    for severity, source, name in itertools.product(
        SEVERITIES, [*SOURCES, WILDCARD, "other"], [*NAMES, WILDCARD]
    ):
        rows = await repo.matching(
            rule_pool,
            client_id=client_id,
            severity=severity,
            source=source,
            name=name,
            limit=1000,
        )
        want = {r.rule_id for r in enabled if rule_matches(r, severity, source, name)}
        assert {str(row["rule_id"]) for row in rows} == want, (severity, source, name)
        for row in rows:
            patterns = (row["severity"], row["source"], row["name"])
            assert explain(patterns, (severity, source, name)) is not None
        matched_somewhere |= want
        unmatched_alerts += not want
    # Not vacuous: every enabled rule is matched by some alert, and some alerts match none.
    assert enabled and len(matched_somewhere) == len(enabled)
    assert unmatched_alerts
