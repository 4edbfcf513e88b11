"""The sender's side of the channels: the dispatcher the worker hands each (notification,
target) to. Nothing here retries: the retry policy lives in ``alerting.domain.delivery``
and works across claims; what a channel sends lives in its module under
``alerting.channels.builtin``; the transports and the URL guard are ``alerting.adapters``'
(the rule-service's test sends use them too)."""

from __future__ import annotations

import time
from collections.abc import Callable

from alerting.channels import registry
from alerting.channels.base import HttpTransport, MailTransport, Outbound, UrlGate
from alerting.config import Settings
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification


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
        # Looked up per delivery (a dict read), not cached here: a channel registered
        # after the sender started (a test's) is found all the same.
        channel = registry.find(target.type)
        if channel is None:
            return Attempt.permanent(f"unknown endpoint type {target.type!r}")
        if (channel.signed or channel.credential is not None) and not target.signing_secret:
            # Never an unsigned request to a receiver that verifies, nor one without its
            # routing key (a credential's channel). Transient: the usual
            # cause is a key missing from this sender's ALERTING_SECRET_KEYS (a roll-out
            # in progress), which a retry after the fix gets past.
            return Attempt.transient(
                "the endpoint's signing secret cannot be opened with ALERTING_SECRET_KEYS"
                " (the sender's log names the key id)"
            )
        return await channel.deliver(n, target, self._outbound)

    def identity(self, endpoint_type: str, value: str, secret: str | None = None) -> str:
        return registry.identity(endpoint_type, value, secret)
