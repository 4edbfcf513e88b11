"""Silences next to a synthetic rule set (``ruleset``), and their share of muted alerts.
Pure, seeded by position.

Silence k belongs to client ``k mod clients`` (spread over the bench's clients, one
each while there are fewer silences than clients) and targets one alert key that client
has rules for. Four kinds take turns, so every cost the evaluator pays for silences is
in the figure:

- ``name = n<g>`` and ``severity = <s>``: filed under the name, mutes key g;
- ``source = s<g>`` and ``name =~ "n[0-9]+"``: filed under the source, a regex, mutes
  key g;
- ``name =~ "never-.*"``: unfiled, tested on every alert of its client, mutes nothing;
- ``source = s<g>`` and ``context.team = never``: filed under the source, decodes the
  context of key g's alerts (the bench's alerts have none), mutes nothing.

A silence with no ``=`` matcher on an alert field but one on the context would decode
the context of every alert of its client (about 1 us each in-process): a pattern the
mix leaves out as uncommon.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from alerting.bench.ruleset import SEVERITIES, RuleSetSpec, client_id
from alerting.domain.model import Alert
from alerting.domain.silences import AlertFields, Matcher, MatchOp, Silence, SilenceIndex


def _target(spec: RuleSetSpec, k: int) -> tuple[int, int]:
    """(client index, alert key group) of silence k: a group of one of the client's rules."""
    client = k % spec.clients
    rule = client + (k // spec.clients % spec.rules_per_client) * spec.clients
    return client, min(rule // spec.fanout, spec.groups - 1)


def _matchers(kind: int, group: int) -> tuple[Matcher, ...]:
    if kind == 0:
        severity = SEVERITIES[group % len(SEVERITIES)].value
        return (
            Matcher("name", MatchOp.EQUAL, f"n{group}"),
            Matcher("severity", MatchOp.EQUAL, severity),
        )
    if kind == 1:
        return (
            Matcher("source", MatchOp.EQUAL, f"s{group}"),
            Matcher("name", MatchOp.REGEX, "n[0-9]+"),
        )
    if kind == 2:
        return (Matcher("name", MatchOp.REGEX, "never-.*"),)
    return (
        Matcher("source", MatchOp.EQUAL, f"s{group}"),
        Matcher("context.team", MatchOp.EQUAL, "never"),
    )


def silences(
    spec: RuleSetSpec, count: int, now: datetime, clients_prefix: str = "bench-c"
) -> list[Silence]:
    """``count`` silences active from an hour before ``now`` for a day."""
    out: list[Silence] = []
    for k in range(count):
        client, group = _target(spec, k)
        out.append(
            Silence(
                f"00000000-0000-4000-8000-{k:012d}",
                client_id(client, clients_prefix),
                _matchers(k % 4, group),
                now - timedelta(hours=1),
                now + timedelta(days=1),
            )
        )
    return out


def muting(index: SilenceIndex, client: str, alert: Alert, now: datetime) -> tuple[str, ...]:
    """The silence ids of ``client`` muting ``alert`` (what the evaluator would name)."""
    fields = AlertFields(
        alert.severity.value, alert.source, alert.name, lambda: dict(alert.context)
    )
    return tuple(index.muting(client, fields, now))


def muted_share(index: SilenceIndex, matches: Sequence[tuple[str, Alert]], now: datetime) -> float:
    """The share of (client, alert) matches some silence mutes."""
    muted = sum(bool(muting(index, client, alert, now)) for client, alert in matches)
    return muted / len(matches) if matches else 0.0
