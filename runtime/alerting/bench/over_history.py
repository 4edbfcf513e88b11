"""The ``stored`` stage's figures side by side (pure): each case on the run's empty
database, then over the loaded history, and the ratio of the two against the goal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Issue 16: over 10 million stored notifications, each figure keeps at least this share
# of the empty database's, measured in the same run.
GOAL = 0.8


def tagged(cases: Iterable[dict[str, Any]], phase: str, what: str) -> list[dict[str, Any]]:
    """The cases of one phase ("empty" or "stored"), labelled for the table."""
    return [
        {
            **c,
            "phase": phase,
            "measure": f"{what} {c.get('channel', '')}".strip(),
            "case": f"{what}, {c['case']}, {phase}",
        }
        for c in cases
    ]


def compared(
    empty: Sequence[Mapping[str, Any]], stored: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each empty case, its stored twin (same ``measure``) and their ratio, in that order."""
    twins = {c["measure"]: c for c in stored}
    if set(twins) != {c["measure"] for c in empty}:
        raise ValueError("the empty and stored phases measured different cases")
    out: list[dict[str, Any]] = []
    for before in empty:
        after = twins[before["measure"]]
        ratio = after["per_s"] / before["per_s"]
        met = ratio >= GOAL
        out += [
            dict(before),
            dict(after),
            {
                "case": f"{before['measure']}, stored / empty",
                "measure": before["measure"],
                "phase": "ratio",
                "ratio": round(ratio, 3),
                "goal": GOAL,
                "met": met,
                "figure": f"{after['per_s']:,.0f} vs {before['per_s']:,.0f}/s empty:"
                f" {ratio:.0%} (goal {GOAL:.0%}: {'met' if met else 'below'})",
            },
        ]
    return out


def key_of(measure: str) -> str:
    """The document key of a measure's ratio: ``stored_sender_webhook_ratio``."""
    return "stored_" + measure.replace(" ", "_") + "_ratio"


def figures(cases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The stage's figures for the document's top level (none when it did not run): the
    ratio of each measure and the rows the history held. Not headline keys: a run that
    leaves the stage out is still whole."""
    out: dict[str, Any] = {}
    for c in cases:
        if c.get("phase") == "ratio":
            out[key_of(c["measure"])] = c["ratio"]
        elif c.get("phase") == "load":
            out["stored_notifications"] = c["items"]
    return out


def eta_line(done: int, total: int, rows: int, elapsed_s: float) -> str:
    """A load progress line: how far, how fast, and how long to go at that pace."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    left = (total - done) / rate if rate > 0 else float("inf")
    eta = "unknown" if left == float("inf") else f"{int(left) // 60}m{int(left) % 60:02d}s"
    return (
        f"history: {done:,} of {total:,} notifications ({rows:,} rows in 3 tables),"
        f" {rate:,.0f} notifications/s, {rows / elapsed_s if elapsed_s > 0 else 0:,.0f}"
        f" rows/s, ETA {eta}"
    )
