"""What every channel whose endpoint value is an http(s) URL shares (Slack, Teams,
PagerDuty, webhooks):
the URL policy at the API, identity, and a POST through the URL guard.

The API checks the URL when the endpoint is created; the sender checks it again before
each request (through the guard's short cache), because DNS can change in between.
"""

from __future__ import annotations

from typing import NamedTuple

from alerting.adapters import dns
from alerting.channels.base import Credential, InvalidValue, Outbound, UrlPolicy
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification
from alerting.domain.delivery_rate import Rate

USER_AGENT = "alerting-sender/1"
JSON_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}


class HttpRequest(NamedTuple):
    """A rendered POST: what a URL channel's ``render`` returns (one per delivery, so a
    tuple: cheaper to build than a frozen dataclass)."""

    url: str
    body: bytes
    headers: dict[str, str]


class UrlChannel:
    """Validation and identity of a URL-valued channel; subclasses name it, render and
    deliver (usually ``return await post(outbound, self.render(...))``)."""

    signed = False
    credential: Credential | None = None
    default_rate: Rate | None = None  # a receiver of our own kind: the sender's setting

    async def validate(self, value: str, policy: UrlPolicy) -> str:
        allow, resolver = policy.allow_private, policy.resolver
        try:
            await dns.check_url(value, allow_private=allow, resolver=resolver)
        except dns.UnsafeUrl as exc:
            raise InvalidValue(f"URL {exc}") from None
        return value

    def identity(self, value: str) -> str:
        # As is: a URL's path and query are case-sensitive, and often carry a token.
        return value


class JsonChannel(UrlChannel):
    """A URL channel that POSTs one unsigned JSON document (Slack, Teams, PagerDuty), for
    a notification or for a group's digest: subclasses say what the documents are."""

    def document(self, n: OutgoingNotification, target: Target) -> bytes:
        raise NotImplementedError

    def digest_document(self, d: Digest, target: Target) -> bytes:
        raise NotImplementedError

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> HttpRequest:
        # A fresh dict per request: the HTTP client may add to the headers it is given.
        return HttpRequest(target.value, self.document(n, target), dict(JSON_HEADERS))

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        return await post(outbound, self.render(n, target, outbound, outbound.wall_clock()))

    def render_digest(
        self, d: Digest, target: Target, outbound: Outbound, now_s: float
    ) -> HttpRequest:
        return HttpRequest(target.value, self.digest_document(d, target), dict(JSON_HEADERS))

    async def deliver_digest(self, d: Digest, target: Target, outbound: Outbound) -> Attempt:
        now_s = outbound.wall_clock()
        return await post(outbound, self.render_digest(d, target, outbound, now_s))


async def post(outbound: Outbound, request: HttpRequest) -> Attempt:
    """POST unless the guard refuses the URL; a refusal is permanent (the URL needs fixing)."""
    refusal = await outbound.url_guard.refusal(request.url)
    if refusal is not None:
        return Attempt.permanent(refusal)
    return await outbound.http.post(
        request.url, request.body, request.headers, now_s=outbound.wall_clock()
    )
