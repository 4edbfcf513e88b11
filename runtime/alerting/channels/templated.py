"""A channel's hook into per-endpoint templates: the rendered template when the target
has one, else the channel's own rendering of that part.

A stored template compiled when it was saved, but it can still fail on a notification
(a value it indexes is missing, the time budget, a webhook body that is not JSON for
these values). The sender then sends the channel's built-in rendering of that part, logs
a warning naming the endpoint, the template and the error's type and line (never its
message: it may quote the alert's values), and counts it: never a stuck delivery, never
a lost notification. The preview answers the same error as a 422.

Rendering runs on the sender's event loop, so a template that spent its CPU budget is
not run again for ``SKIP_S`` (``Skipped``): one tenant's heavy template costs the other
tenants' deliveries one budget per period, not one per notification.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from prometheus_client import Counter

from alerting.domain.delivery import Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.templates.render import (
    RENDER_BUDGET_S,
    TemplateProblem,
    compile_template,
    render,
)

log = logging.getLogger("alerting.templates")
FALLBACKS = Counter(
    "alerting_template_fallbacks_total",
    "Renders of a stored template that failed, sent with the channel's built-in rendering",
    ["channel", "template"],
)
SKIP_S = 300.0
SKIP_MAX = 1024  # templates remembered at once; the oldest is forgotten first
# A failure that cost at least this much CPU is remembered: a cheap one (a missing value
# in this notification) costs the loop nothing, and the next notification may render.
EXPENSIVE_S = RENDER_BUDGET_S / 2

Key = tuple[str, tuple[str, ...], str, str]  # (type, endpoint ids, name, source's SHA-256)


class Skipped:
    """Templates not rendered until a deadline (by ``clock``), at most ``size`` of them."""

    def __init__(self, size: int = SKIP_MAX, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.clock = clock
        self._until: OrderedDict[Key, float] = OrderedDict()

    def __contains__(self, key: Key) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if self.clock() < until:
            return True
        del self._until[key]
        return False

    def add(self, key: Key, for_s: float = SKIP_S) -> None:
        self._until[key] = self.clock() + for_s
        self._until.move_to_end(key)
        while len(self._until) > self.size:
            self._until.popitem(last=False)


SKIPPED = Skipped()


def part(n: OutgoingNotification, target: Target, name: str, default: Callable[[], str]) -> str:
    """Template ``name`` of ``target`` rendered for ``n``, or ``default()``."""
    source = (target.templates or {}).get(name)
    if source is None:
        return default()
    digest = hashlib.sha256(source.encode()).hexdigest()
    key = (target.type, target.endpoint_ids, name, digest)
    if key in SKIPPED:
        FALLBACKS.labels(target.type, name).inc()
        return default()
    started = time.thread_time()
    try:
        compile_template(target.type, name, source)  # cached: compiling once is not the cost
        started = time.thread_time()
        return render(target.type, name, source, n)
    except TemplateProblem as problem:
        kind, line = problem.kind, problem.line
    except Exception as exc:  # the last line of defence: render raises TemplateProblem
        kind, line = type(exc).__name__, None
    FALLBACKS.labels(target.type, name).inc()
    used_s = time.thread_time() - started
    if used_s < EXPENSIVE_S:
        log.warning(
            "%s: template %s failed for notification %s (%s, line %s), sent the built-in"
            " rendering", target.label, name, n.notification_id, kind, line,
        )  # fmt: skip
        return default()
    SKIPPED.add(key)
    log.warning(
        "%s: template %s failed for notification %s (%s, line %s) after %.0f ms of CPU;"
        " the built-in rendering is sent for the next %.0f s",
        target.label, name, n.notification_id, kind, line, used_s * 1000, SKIP_S,
    )  # fmt: skip
    return default()
