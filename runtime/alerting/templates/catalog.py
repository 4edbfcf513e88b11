"""Which templates each channel takes, and the format each is written in.

A channel missing here takes no templates. The names are the API's (``templates`` of an
endpoint) and docs/integrations.md lists them; the channel module uses its own names.
"""

from __future__ import annotations

from collections.abc import Mapping

from alerting.templates.formats import JSON, LINE, MRKDWN, TEXT, Format

TEMPLATES: Mapping[str, Mapping[str, Format]] = {
    "email": {"subject": LINE, "body": TEXT},
    "slack": {"text": MRKDWN},
    "webhook": {"body": JSON},
}


def names(channel: str) -> tuple[str, ...]:
    return tuple(TEMPLATES.get(channel, {}))


def format_of(channel: str, name: str) -> Format | None:
    return TEMPLATES.get(channel, {}).get(name)


def unknown_name(channel: str, name: str) -> str | None:
    """Why ``name`` is not a template of ``channel``, or None."""
    if format_of(channel, name) is not None:
        return None
    known = names(channel)
    if not known:
        return f"a {channel} endpoint takes no templates"
    return f"not a template of {channel} endpoints (expected {' or '.join(repr(n) for n in known)})"
