"""A channel's hook into per-endpoint templates: the rendered template when the target
has one, else the channel's own rendering of that part.

A stored template compiled when it was saved, but it can still fail on a notification
(a value it indexes is missing, the time budget, a webhook body that is not JSON for
these values). The sender then sends the channel's built-in rendering of that part, logs
a warning naming the endpoint and the template's error, and counts it: never a stuck
delivery, never a lost notification. The preview answers the same error as a 422.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import Counter

from alerting.domain.delivery import Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.templates.render import TemplateProblem, render

log = logging.getLogger("alerting.templates")
FALLBACKS = Counter(
    "alerting_template_fallbacks_total",
    "Renders of a stored template that failed, sent with the channel's built-in rendering",
    ["channel", "template"],
)


def part(n: OutgoingNotification, target: Target, name: str, default: Callable[[], str]) -> str:
    """Template ``name`` of ``target`` rendered for ``n``, or ``default()``."""
    source = (target.templates or {}).get(name)
    if source is None:
        return default()
    try:
        return render(target.type, name, source, n)
    except TemplateProblem as problem:
        log.warning(
            "%s: template %s failed for notification %s, sent the built-in rendering: %s",
            target.label, name, n.notification_id, problem,
        )  # fmt: skip
        FALLBACKS.labels(target.type, name).inc()
        return default()
