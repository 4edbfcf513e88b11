"""A test send: one notification through the endpoint's channel, now, with the sender's
own dispatch (``channels.dispatch``) and transports (``alerting.adapters``): the URL
policy, the SMTP relay and the HTTP client are the ones a real delivery meets. Bounded
by ``TIMEOUT_S``.

Transports are built per test send and closed after it: test sends are rare, and a pool
kept for them would hold connections between them for nothing.
"""

from __future__ import annotations

import asyncio
import time

from alerting.adapters.http_post import HttpPoster
from alerting.adapters.smtp import SmtpPool
from alerting.adapters.url_guard import UrlGuard
from alerting.channels import dispatch
from alerting.channels.base import Outbound
from alerting.config import Settings
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification

TIMEOUT_S = 15.0


async def send(settings: Settings, n: OutgoingNotification, target: Target) -> Attempt:
    s = settings.sender
    http = HttpPoster(1, s.http_timeout_s, settings.allow_private_urls)
    smtp = SmtpPool(settings.smtp, 1, s.smtp_timeout_s)
    guard = UrlGuard(settings.allow_private_urls)
    outbound = Outbound(http, smtp, guard, settings.smtp.sender, time.time)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            return await dispatch.deliver(n, target, outbound)
    except TimeoutError:
        return Attempt.transient(f"timeout: no answer within {TIMEOUT_S:g} s")
    finally:
        await http.close()
        await smtp.close()
