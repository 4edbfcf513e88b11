"""Channel adapters: turn one (notification, target) into one HTTP request or email, and
the answer (or the exception) into an ``Attempt``. Nothing here retries: the retry
policy lives in ``alerting.domain.delivery`` and works across claims."""

from __future__ import annotations

import time
from collections.abc import Callable

from alerting.adapters.dns import Resolver, UnsafeUrl, check_url, system_resolver
from alerting.config import Settings
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import (
    Notification,
    email_message,
    slack_body,
    webhook_body,
    webhook_headers,
)
from alerting.services.sender.http_post import HttpPoster
from alerting.services.sender.smtp import SmtpPool

USER_AGENT = "alerting-sender/1"
URL_CHECK_TTL_S = 5.0
URL_CHECK_CACHE_SIZE = 10_000


class UrlGuard:
    """``check_url`` before each request, its verdict kept a few seconds: a batch to one
    receiver resolves its host once, while a DNS change is still noticed quickly."""

    def __init__(
        self,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._clock = clock
        self._verdicts: dict[str, tuple[float, str | None]] = {}

    async def refusal(self, url: str) -> str | None:
        """Why ``url`` must not be called, or None."""
        now = self._clock()
        cached = self._verdicts.get(url)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            await check_url(url, allow_private=self._allow_private, resolver=self._resolver)
            verdict = None
        except UnsafeUrl as exc:
            verdict = f"URL refused: {exc}"
        if len(self._verdicts) >= URL_CHECK_CACHE_SIZE:
            self._verdicts.clear()
        self._verdicts[url] = (now + URL_CHECK_TTL_S, verdict)
        return verdict


class Channels:
    def __init__(
        self,
        settings: Settings,
        http: HttpPoster,
        smtp: SmtpPool,
        guard: UrlGuard,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._from = settings.smtp.sender
        self._http = http
        self._smtp = smtp
        self._guard = guard
        self._wall_clock = wall_clock

    async def deliver(self, n: Notification, target: Target) -> Attempt:
        if target.type == "email":
            return await self._smtp.send(email_message(n, target.value, self._from), target.value)
        if target.type == "webhook":
            now = int(self._wall_clock())
            body = webhook_body(n)
            headers = webhook_headers(n, target.signing_secret, now, body, USER_AGENT)
            return await self._post(target.value, body, headers)
        if target.type == "slack":
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
            return await self._post(target.value, slack_body(n), headers)
        return Attempt.permanent(f"unknown endpoint type {target.type!r}")

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        refusal = await self._guard.refusal(url)
        if refusal is not None:
            return Attempt.permanent(refusal)
        return await self._http.post(url, body, headers, now_s=self._wall_clock())
