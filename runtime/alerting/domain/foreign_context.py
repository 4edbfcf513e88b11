"""A Prometheus or Alertmanager alert's labels and annotations as a context that always
fits: cleaned and cut, never refused.

Why not refuse, as the native API does: a 4xx on these routes is never fixed by sending
again. Alertmanager re-posts the group at every ``group_interval`` and Prometheus every
``resend_delay``, each time with the same value, so one refused annotation (YAML's
``description: |`` keeps a trailing line feed; awesome-prometheus-alerts writes
``\\n  VALUE = ...`` into every description) would block the whole batch for good. What
the native API refuses is made harmless instead:

* line breaks (CR, LF, VT, FF, NEL, U+2028/9) become a space, so no value starts a line
  in a notification; surrounding whitespace is trimmed;
* every other refused character (``alerting.domain.text``) is written as its escape
  (``\\u202e``), so a renderer shows what was sent instead of obeying it;
* a value over the limit is cut, ending in ``…``; a key likewise;
* over the entry limit, entries are kept by priority (``ordered_entries``) and the
  context says how many were left out under ``context_truncated``, which counts in the
  limit.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from alerting.domain.text import LABEL, VALUE

ELLIPSIS = "…"
TRUNCATED_KEY = "context_truncated"  # reserved: a label of that name is renamed
GENERATOR_URL = "generatorURL"
# An annotation named like a label goes in under this prefix; Prometheus label names
# hold no ".", so the prefixed name is normally free.
ANNOTATION_PREFIX = "annotations."
_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
# Every line break above and every character LABEL or VALUE refuses is unprintable to
# Python (Cc, Cf, Zl, Zp, Cs; tests/unit/test_text_policy.py checks all of Unicode), so
# text that ``str.isprintable`` passes has nothing to replace or escape: it is only
# trimmed and cut. That is nearly every label and annotation, for one C-level scan.

Loc = tuple[str, ...]  # where a value came from in the alert: ("labels", "alertname")


@dataclass(frozen=True, slots=True)
class ContextLimits:
    """What a native alert's context may hold (``alerting.services.ingest.models``)."""

    entries: int
    key_chars: int
    value_chars: int


class Entry(NamedTuple):
    """One label, annotation or the generatorURL, before cleaning. A named tuple (cheaper
    to build than a frozen dataclass): an alert makes one per entry."""

    key: str
    value: str
    loc: Loc


class FittedContext(NamedTuple):
    context: dict[str, str]
    origins: dict[str, Loc]  # context key -> where it came from
    dropped: int  # entries left out (over the limit, or a key with nothing visible)


def cut(text: str, max_chars: int) -> str:
    """``text``, or its first ``max_chars - 1`` characters and ``…``."""
    return text if len(text) <= max_chars else text[: max_chars - 1] + ELLIPSIS


def clean_value(text: str, max_chars: int) -> str:
    """A value a native alert would accept, as close to ``text`` as that allows."""
    if text.isprintable():  # nothing to replace or escape (see _LINE_BREAKS)
        return cut(text.strip(), max_chars)
    one_line = _LINE_BREAKS.sub(" ", text).strip()
    return cut(VALUE.neutralised(one_line), max_chars)


def clean_key(text: str, max_chars: int) -> str:
    """A key a native alert would accept (tabs too are escaped); empty if nothing
    visible is left, which the caller drops."""
    if text.isprintable():  # nothing to replace or escape (see _LINE_BREAKS)
        return cut(text.strip(), max_chars)
    return cut(LABEL.neutralised(_LINE_BREAKS.sub(" ", text).strip()), max_chars)


def ordered_entries(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    generator_url: str,
    first_labels: Sequence[str],
) -> list[Entry]:
    """The documented priority: the labels the mapping reads (``first_labels``: name,
    severity, source), then the other labels by name, then the annotations by name, then
    the generatorURL. An alert over the limit loses entries from the end."""
    firsts = [name for name in dict.fromkeys(first_labels) if name in labels]
    rest = sorted(name for name in labels if name not in firsts)
    entries = [Entry(name, labels[name], ("labels", name)) for name in [*firsts, *rest]]
    entries += [Entry(k, annotations[k], ("annotations", k)) for k in sorted(annotations)]
    if generator_url:
        entries.append(Entry(GENERATOR_URL, generator_url, (GENERATOR_URL,)))
    return entries


def _free_key(key: str, loc: Loc, taken: Mapping[str, Loc], max_chars: int) -> str:
    """``key``, else (annotations) ``annotations.<key>``, else the first free ``_2``,
    ``_3``, ... suffix: a collision renames the later entry, it never refuses the alert."""
    if key not in taken and key != TRUNCATED_KEY:
        return key
    if loc[0] == "annotations":
        prefixed = cut(ANNOTATION_PREFIX + key, max_chars)
        if prefixed not in taken:
            return prefixed
        key = prefixed
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = key[: max_chars - len(suffix)] + suffix
        if candidate not in taken and candidate != TRUNCATED_KEY:
            return candidate
        n += 1


def fit(entries: Sequence[Entry], limits: ContextLimits) -> FittedContext:
    """Cleaned entries under unique keys, the first ones up to ``limits.entries`` (the
    ``context_truncated`` entry, when present, among them)."""
    cleaned: dict[str, str] = {}
    origins: dict[str, Loc] = {}
    dropped = 0
    for entry in entries:
        key = clean_key(entry.key, limits.key_chars)
        if not key:
            dropped += 1
            continue
        key = _free_key(key, entry.loc, origins, limits.key_chars)
        cleaned[key] = clean_value(entry.value, limits.value_chars)
        origins[key] = entry.loc
    if len(cleaned) + (1 if dropped else 0) > limits.entries:
        kept = limits.entries - 1
        dropped += len(cleaned) - kept
        for key in list(cleaned)[kept:]:
            del cleaned[key], origins[key]
    if dropped:
        cleaned[TRUNCATED_KEY] = str(dropped)
    return FittedContext(cleaned, origins, dropped)
