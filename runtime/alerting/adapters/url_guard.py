"""The URL check every request of a URL channel passes (the sender's deliveries and the
rule-service's test sends): ``check_url`` with a short cache."""

from __future__ import annotations

import time
from collections.abc import Callable

from alerting.adapters.dns import Resolver, UnsafeUrl, check_url, system_resolver

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
