"""The sender's side of the channels: the dispatcher the worker hands each (notification,
target) to. Nothing here retries: the retry policy lives in ``alerting.domain.delivery``
and works across claims; what a channel sends lives in its module under
``alerting.channels.builtin``; the transports and the URL guard are ``alerting.adapters``'
(the rule-service's test sends use them too)."""

from __future__ import annotations

import time
from collections.abc import Callable

from alerting.channels import dispatch, registry
from alerting.channels.base import HttpTransport, MailTransport, Outbound, UrlGate
from alerting.config import Settings
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification
from alerting.domain.delivery_rate import Rate


class Channels:
    """Deliver one notification to one target through the channel its type names."""

    def __init__(
        self,
        settings: Settings,
        http: HttpTransport,  # HttpPoster
        smtp: MailTransport,  # SmtpPool
        guard: UrlGate,  # UrlGuard
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._outbound = Outbound(http, smtp, guard, settings.smtp.sender, wall_clock)

    async def deliver(self, n: OutgoingNotification, target: Target) -> Attempt:
        return await dispatch.deliver(n, target, self._outbound)

    async def deliver_digest(self, d: Digest, target: Target) -> Attempt:
        """A group's digest (the flusher's ``DigestDispatcher``)."""
        return await dispatch.deliver_digest(d, target, self._outbound)

    def identity(self, endpoint_type: str, value: str, secret: str | None = None) -> str:
        return registry.identity(endpoint_type, value, secret)

    def default_rate(self, endpoint_type: str) -> Rate | None:
        return registry.default_rate(endpoint_type)
